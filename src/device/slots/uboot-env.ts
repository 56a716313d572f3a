/**
 * A/B slot control through the U-Boot environment, with libubootenv's `fw_printenv` /
 * `fw_setenv` (Debian `u-boot-tools`), in Mender's or RAUC's variable layout.
 *
 * Every state change is ONE `fw_setenv -c CONFIG -s -` call whose script holds all variables as
 * `name=value` lines (measured on Debian 12, libubootenv 0.3.2: `name value` lines are silently
 * ignored with exit 0, and `fw_setenv NAME a b` stores only `a`), followed by a read back.
 * libubootenv writes the whole environment block with a fresh CRC and fsyncs it; with a
 * redundant environment (two lines in `fw_env.config`) it writes the inactive copy and bumps its
 * counter, so a power cut leaves the previous copy valid: only that layout is atomic
 * (`capabilities().atomicActivation`). A single copy is rewritten in place.
 *
 * Not covered, documented here because it bites: on raw NOR flash (`/dev/mtdN`) U-Boot uses
 * active/obsolete flags where libubootenv on files and block devices uses counters, and pointing
 * the config at `/dev/mtdblockN` mixes the two — U-Boot then loads the older copy and writes are
 * lost. Read-back cannot see this (Linux reads what it wrote); a bootloader-side canary variable
 * (as Mender uses) can. Test redundant setups on the target's real storage.
 *
 * Blank storage: `fw_printenv` exits 243 ("Cannot read environment"); this module refuses with
 * an error pointing at `mkenvimage` / {@link UbootEnvSlotController.initEnv}.
 *
 * Calls on one instance are serialized; not safe across processes (libubootenv's lock file
 * serializes single tool runs, not our read-modify-write).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SlotError } from '../../errors.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { SlotErrorCode, SlotProfile } from '../slot-controller.js';
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
  type MenderProfileOptions,
  menderProfile,
  type RaucUbootProfileOptions,
  raucUbootProfile,
} from './env-profiles.js';
import { exitStatusOf, type RunToolOptions, runTool, type ToolRunner } from './exec.js';

/** libubootenv's exit status when no copy of the environment has a valid CRC. */
const EXIT_NO_ENV = 243;
/** A `fw_env.config` is a couple of lines. */
const MAX_CONFIG_BYTES = 64 * 1024;
/** Default `fw_env.config` location. */
export const DEFAULT_FW_ENV_CONFIG = '/etc/fw_env.config';

/** One line of `fw_env.config`: where one copy of the environment lives. */
export interface FwEnvCopy {
  device: string;
  offset: string;
  size: string;
}

/**
 * Parse `fw_env.config`: `device offset size [sector-size [sectors]]` per line, `#` comments.
 *
 * @throws SlotError `ERR_TUF_SLOT_ENV` if it has no copy, more than two, or a malformed line.
 */
export function parseFwEnvConfig(text: string, configPath: string): FwEnvCopy[] {
  const copies: FwEnvCopy[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [device, offset, size] = line.split(/\s+/);
    if (
      !device ||
      !offset ||
      !size ||
      !/^(0x[0-9a-f]+|\d+)$/i.test(offset) ||
      !/^(0x[0-9a-f]+|\d+)$/i.test(size)
    ) {
      throw new SlotError(
        `${configPath}: malformed line ${JSON.stringify(raw)} (want "device offset size")`,
        {},
        SlotErrorCode.Environment,
      );
    }
    copies.push({ device, offset, size });
  }
  if (copies.length < 1 || copies.length > 2) {
    throw new SlotError(
      `${configPath}: expected 1 or 2 environment copies, found ${copies.length}`,
      {},
      SlotErrorCode.Environment,
    );
  }
  return copies;
}

/** Tool locations and limits. */
export interface UbootToolOptions {
  /** `fw_printenv` executable (default from PATH). */
  fwPrintenv?: string;
  /** `fw_setenv` executable (default from PATH). */
  fwSetenv?: string;
  /** Runs the tools (default {@link runTool}); inject a recorder in tests. */
  runTool?: ToolRunner;
  /** Per-call limits. */
  toolOptions?: RunToolOptions;
}

function blankHint(where: string): string {
  return (
    `no valid U-Boot environment at ${where} (blank storage, or every copy fails its CRC): ` +
    'seed it with `mkenvimage -s SIZE [-r] -o FILE defaults.txt` or UbootEnvSlotController.initEnv()'
  );
}

/** {@link EnvStore} over `fw_printenv` / `fw_setenv`. */
export class UbootEnvStore implements EnvStore {
  readonly description: string;
  readonly #configPath: string;
  readonly #copies: readonly FwEnvCopy[];
  readonly #printenv: string;
  readonly #setenv: string;
  readonly #run: ToolRunner;
  readonly #toolOptions: RunToolOptions;

  constructor(configPath: string, copies: readonly FwEnvCopy[], tools: UbootToolOptions = {}) {
    this.#configPath = configPath;
    this.#copies = copies;
    this.#printenv = tools.fwPrintenv ?? 'fw_printenv';
    this.#setenv = tools.fwSetenv ?? 'fw_setenv';
    this.#run = tools.runTool ?? runTool;
    this.#toolOptions = tools.toolOptions ?? {};
    this.description = `${configPath} (${copies.map((c) => `${c.device}@${c.offset}`).join(', ')})`;
  }

  /** `true` if the config names two copies (U-Boot's redundant environment). */
  get redundant(): boolean {
    return this.#copies.length === 2;
  }

  async read(names: readonly string[]): Promise<EnvVars> {
    for (const name of names) assertVariableName(name);
    await this.#checkStorage();
    const { stdout } = await this.#tool(this.#printenv, ['-c', this.#configPath, ...names]);
    // libubootenv prints `name=value` per requested name, `name=` for an unset one, in order.
    const lines = stdout.split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (lines.length !== names.length) {
      throw new SlotError(
        `${this.#printenv} printed ${lines.length} lines for ${names.length} variables (a value with a newline?): ${stdout.slice(0, 200)}`,
        {},
        SlotErrorCode.Environment,
      );
    }
    const vars = new Map<string, string>();
    names.forEach((name, i) => {
      const line = lines[i] as string;
      if (!line.startsWith(`${name}=`)) {
        throw new SlotError(
          `${this.#printenv}: expected ${name}=…, got ${JSON.stringify(line.slice(0, 100))}`,
          {},
          SlotErrorCode.Environment,
        );
      }
      const value = line.slice(name.length + 1);
      if (value !== '') vars.set(name, value);
    });
    return vars;
  }

  async write(changes: readonly EnvChange[]): Promise<void> {
    let script = '';
    for (const [name, value] of changes) {
      assertVariableName(name);
      if (value !== null) assertVariableValue(name, value);
      // `name=` with nothing after it removes the variable.
      script += `${name}=${value ?? ''}\n`;
    }
    await this.#checkStorage();
    await this.#tool(this.#setenv, ['-c', this.#configPath, '-s', '-'], script);
  }

  async #checkStorage(): Promise<void> {
    for (const copy of this.#copies) {
      try {
        await fs.access(copy.device, fs.constants.R_OK);
      } catch (error) {
        throw new SlotError(
          `U-Boot environment storage ${copy.device} (from ${this.#configPath}) is missing or unreadable: ${(error as Error).message}. ` +
            'Create it with mkenvimage or UbootEnvSlotController.initEnv()',
          { cause: error },
          SlotErrorCode.Environment,
        );
      }
    }
  }

  async #tool(file: string, args: string[], input?: string) {
    try {
      return await this.#run(
        file,
        args,
        input === undefined ? this.#toolOptions : { ...this.#toolOptions, input },
      );
    } catch (error) {
      if (exitStatusOf(error) === EXIT_NO_ENV) {
        throw new SlotError(
          blankHint(this.description),
          { cause: error },
          SlotErrorCode.Environment,
        );
      }
      throw error;
    }
  }
}

/** Options of {@link UbootEnvSlotController.create}. */
export interface UbootEnvSlotControllerOptions extends EnvSlotControllerOptions, UbootToolOptions {
  /** `fw_env.config` naming the environment copies (default `/etc/fw_env.config`). */
  configPath?: string;
  /** Variable layout (default Mender's). */
  profile?: typeof SlotProfile.UbootMender | typeof SlotProfile.UbootRauc;
  /** Mender layout options (variable names, `boot_part` values, max tries). */
  mender?: MenderProfileOptions;
  /** RAUC layout options (bootnames, max tries). */
  rauc?: RaucUbootProfileOptions;
}

/** Options of {@link UbootEnvSlotController.initEnv}. */
export interface UbootInitEnvOptions {
  /** Environment image file to create. */
  envPath: string;
  /** `fw_env.config` to create, pointing at `envPath`. */
  configPath: string;
  /** Initial variables (e.g. `{ boot_part: '2', bootlimit: '1' }`). */
  variables: Record<string, string>;
  /** Size of one copy in bytes (default 0x4000, a common `CONFIG_ENV_SIZE`). */
  size?: number;
  /** Two copies (redundant layout, one after the other in `envPath`). */
  redundant?: boolean;
  /** Replace existing files (default: refuse). */
  overwrite?: boolean;
  /** `mkenvimage` executable (default from PATH). */
  mkenvimage?: string;
  /** Runs the tool (default {@link runTool}). */
  runTool?: ToolRunner;
}

/**
 * {@link SlotController} over a U-Boot environment, Mender- or RAUC-style.
 *
 * @example
 * ```ts
 * const slots = await UbootEnvSlotController.create({
 *   configPath: '/etc/fw_env.config',
 *   profile: 'uboot-mender',
 *   mender: { bootPartVariable: 'mender_boot_part', bootPartValues: { A: '2', B: '3' } },
 *   slotDevices: { A: '/dev/mmcblk0p2', B: '/dev/mmcblk0p3' },
 * });
 * ```
 */
export class UbootEnvSlotController extends EnvSlotController {
  /** Read `fw_env.config` and build the controller (no environment access yet). */
  static async create(options: UbootEnvSlotControllerOptions): Promise<UbootEnvSlotController> {
    const configPath = options.configPath ?? DEFAULT_FW_ENV_CONFIG;
    let text: string;
    try {
      const handle = await fs.open(configPath, 'r');
      try {
        const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
        const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
        if (bytesRead > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
        text = buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new SlotError(
        `cannot read U-Boot env config ${configPath}: ${(error as Error).message}`,
        { cause: error },
        SlotErrorCode.Environment,
      );
    }
    const copies = parseFwEnvConfig(text, configPath);
    const store = new UbootEnvStore(configPath, copies, options);
    const kind = options.profile ?? SlotProfile.UbootMender;
    if (kind !== SlotProfile.UbootMender && kind !== SlotProfile.UbootRauc) {
      throw new SlotError(`unknown U-Boot profile ${String(kind)}`, {}, SlotErrorCode.Argument);
    }
    const profile =
      kind === SlotProfile.UbootRauc
        ? raucUbootProfile(options.rauc)
        : menderProfile(options.mender);
    return new UbootEnvSlotController(
      store,
      profile,
      { atomicActivation: store.redundant, redundantEnv: store.redundant },
      options,
    );
  }

  /**
   * Seed a file-backed U-Boot environment with `mkenvimage` and write the matching
   * `fw_env.config` (for tests, simulators, and images prepared at build time). Block devices and
   * flash are seeded by the image build instead.
   *
   * @throws SlotError `ERR_TUF_SLOT_STATE` if a file exists and `overwrite` is not set.
   */
  static async initEnv(options: UbootInitEnvOptions): Promise<void> {
    const size = options.size ?? 0x4000;
    if (!Number.isSafeInteger(size) || size < 64 || size > 16 * 1024 * 1024) {
      throw new SlotError(`size must be 64 … 16 MiB, got ${size}`, {}, SlotErrorCode.Argument);
    }
    let defaults = '';
    for (const [name, value] of Object.entries(options.variables)) {
      assertVariableName(name);
      assertVariableValue(name, value);
      defaults += `${name}=${value}\n`;
    }
    if (!options.overwrite) {
      for (const file of [options.envPath, options.configPath]) {
        if (
          await fs.stat(file).then(
            () => true,
            () => false,
          )
        ) {
          throw new SlotError(
            `${file} exists; pass overwrite: true to replace it`,
            {},
            SlotErrorCode.State,
          );
        }
      }
    }
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-mkenvimage-'));
    try {
      const defaultsPath = path.join(work, 'defaults.txt');
      const imagePath = path.join(work, 'env.img');
      await fs.writeFile(defaultsPath, defaults);
      const args = [
        '-s',
        String(size),
        ...(options.redundant ? ['-r'] : []),
        '-o',
        imagePath,
        defaultsPath,
      ];
      await (options.runTool ?? runTool)(options.mkenvimage ?? 'mkenvimage', args);
      const image = await fs.readFile(imagePath);
      if (image.length !== size) {
        throw new SlotError(
          `mkenvimage produced ${image.length} bytes, expected ${size}`,
          {},
          SlotErrorCode.Environment,
        );
      }
      // Redundant: both copies valid and identical (equal counters); the first write supersedes one.
      await writeFileAtomic(
        options.envPath,
        options.redundant ? Buffer.concat([image, image]) : image,
      );
      const hex = `0x${size.toString(16)}`;
      const config = options.redundant
        ? `${options.envPath} 0x0 ${hex}\n${options.envPath} ${hex} ${hex}\n`
        : `${options.envPath} 0x0 ${hex}\n`;
      await writeFileAtomic(options.configPath, config);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }
}
