/**
 * A/B slots that are plain files or block devices given by path, with a "bootloader environment"
 * kept in a small JSON file: `{"boot_part":"A","upgrade_available":"0","bootcount":"0",
 * "bootlimit":"1"}`. It follows U-Boot's Mender-style semantics exactly (bootcount, bootlimit,
 * altbootcmd-style fallback, played by `BootSimulator`), so whole update cycles — including a new
 * slot that fails to boot — run in tests, demos and on devices whose bootloader reads such a file
 * (a custom first-stage loader, an initramfs switcher).
 *
 * Every state change is one {@link writeFileAtomic} (temp file, fsync, rename, fsync dir): a crash
 * leaves the old or the new environment, never a torn one.
 *
 * Calls on one instance are serialized; not safe across processes.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { SlotError } from '../../errors.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { SlotErrorCode, type SlotName, SlotProfile } from '../slot-controller.js';
import {
  EnvSlotController,
  type EnvSlotControllerOptions,
  type EnvStore,
} from './env-controller.js';
import {
  assertVariableName,
  assertVariableValue,
  type EnvChange,
  type EnvVars,
  menderProfile,
} from './env-profiles.js';

/** The environment file is a handful of variables. */
const MAX_ENV_BYTES = 64 * 1024;

/** Parse and validate the JSON environment: an object of string values with valid names. */
export function parseFileEnv(text: string, file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SlotError(
      `${file} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
      SlotErrorCode.Environment,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SlotError(
      `${file} must hold a JSON object of string variables`,
      {},
      SlotErrorCode.Environment,
    );
  }
  const vars = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new SlotError(
        `${file}: variable ${name} must be a string, got ${typeof value}`,
        {},
        SlotErrorCode.Environment,
      );
    }
    try {
      assertVariableName(name);
      assertVariableValue(name, value);
    } catch (error) {
      throw new SlotError(
        `${file}: ${(error as Error).message}`,
        { cause: error },
        SlotErrorCode.Environment,
      );
    }
    vars.set(name, value);
  }
  return vars;
}

function serialize(vars: ReadonlyMap<string, string>): string {
  const sorted = [...vars.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`;
}

/** {@link EnvStore} over a JSON file replaced atomically. */
export class FileEnvStore implements EnvStore {
  readonly description: string;
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
    this.description = file;
  }

  /** Every variable in the file. */
  async readAll(): Promise<Map<string, string>> {
    let text: string;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.#file, 'r');
      const buf = Buffer.alloc(MAX_ENV_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_ENV_BYTES) {
        throw new SlotError(
          `${this.#file} is larger than ${MAX_ENV_BYTES} bytes`,
          {},
          SlotErrorCode.Environment,
        );
      }
      text = buf.subarray(0, bytesRead).toString('utf8');
    } catch (error) {
      if (error instanceof SlotError) throw error;
      throw new SlotError(
        `boot environment ${this.#file} is missing or unreadable: ${(error as Error).message} (create it with FileSlotController.initEnv())`,
        { cause: error },
        SlotErrorCode.Environment,
      );
    } finally {
      await handle?.close();
    }
    return parseFileEnv(text, this.#file);
  }

  async read(names: readonly string[]): Promise<EnvVars> {
    const all = await this.readAll();
    return new Map(names.filter((n) => all.has(n)).map((n) => [n, all.get(n) as string]));
  }

  async write(changes: readonly EnvChange[]): Promise<void> {
    const vars = await this.readAll();
    for (const [name, value] of changes) {
      assertVariableName(name);
      if (value === null) vars.delete(name);
      else {
        assertVariableValue(name, value);
        vars.set(name, value);
      }
    }
    try {
      await writeFileAtomic(this.#file, serialize(vars));
    } catch (error) {
      throw new SlotError(
        `cannot write boot environment ${this.#file}: ${(error as Error).message}`,
        { cause: error },
        SlotErrorCode.Environment,
      );
    }
  }
}

/** Options of {@link FileSlotController.create}. */
export interface FileSlotControllerOptions extends EnvSlotControllerOptions {
  /** The JSON environment file. */
  envPath: string;
  /** Value of `boot_part` for each slot (default `{ A: 'A', B: 'B' }`). */
  bootPartValues?: Record<SlotName, string>;
  /** Largest `tries` (written as `bootlimit`; default 3). */
  maxTries?: number;
}

/** Options of {@link FileSlotController.initEnv}. */
export interface FileInitEnvOptions {
  /** The JSON environment file to create. */
  envPath: string;
  /** The slot to boot (default `A`). */
  bootSlot?: SlotName;
  /** Value of `boot_part` for each slot (default `{ A: 'A', B: 'B' }`). */
  bootPartValues?: Record<SlotName, string>;
  /** Initial `bootlimit` (default 1). */
  bootlimit?: number;
  /** Replace an existing file (default: refuse). */
  overwrite?: boolean;
}

/**
 * {@link SlotController} over file or block-device slots and a JSON Mender-style environment.
 *
 * @example
 * ```ts
 * await FileSlotController.initEnv({ envPath: '/var/lib/slots/env.json' });
 * const slots = await FileSlotController.create({
 *   envPath: '/var/lib/slots/env.json',
 *   slotDevices: { A: '/var/lib/slots/a.img', B: '/var/lib/slots/b.img' },
 *   evidence: { cmdlinePath: '/var/lib/slots/cmdline' },
 * });
 * ```
 */
export class FileSlotController extends EnvSlotController {
  /** Build the controller (no I/O: the environment is read on first use). */
  static async create(options: FileSlotControllerOptions): Promise<FileSlotController> {
    if (typeof options.envPath !== 'string' || options.envPath === '') {
      throw new SlotError('envPath is required', {}, SlotErrorCode.Argument);
    }
    const profile = menderProfile({
      bootPartValues: options.bootPartValues ?? { A: 'A', B: 'B' },
      maxTries: options.maxTries,
      profile: SlotProfile.FileMender,
    });
    return new FileSlotController(
      new FileEnvStore(options.envPath),
      profile,
      { atomicActivation: true },
      options,
    );
  }

  /**
   * Create the environment file: boot `bootSlot`, confirmed, no trial.
   *
   * @throws SlotError `ERR_TUF_SLOT_STATE` if the file exists and `overwrite` is not set.
   */
  static async initEnv(options: FileInitEnvOptions): Promise<void> {
    const values = options.bootPartValues ?? { A: 'A', B: 'B' };
    const bootlimit = options.bootlimit ?? 1;
    if (!Number.isSafeInteger(bootlimit) || bootlimit < 0) {
      throw new SlotError(
        `bootlimit must be a non-negative integer, got ${bootlimit}`,
        {},
        SlotErrorCode.Argument,
      );
    }
    if (
      !options.overwrite &&
      (await fs.stat(options.envPath).then(
        () => true,
        () => false,
      ))
    ) {
      throw new SlotError(
        `${options.envPath} exists; pass overwrite: true to replace it`,
        {},
        SlotErrorCode.State,
      );
    }
    const vars = new Map<string, string>([
      ['boot_part', values[options.bootSlot ?? 'A']],
      ['upgrade_available', '0'],
      ['bootcount', '0'],
      ['bootlimit', String(bootlimit)],
    ]);
    for (const [n, v] of vars) assertVariableValue(n, v);
    await writeFileAtomic(options.envPath, serialize(vars));
  }
}
