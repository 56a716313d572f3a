/**
 * A/B slot control through a GRUB environment block (`grubenv`) with `grub-editenv` (Debian
 * `grub-common`), in RAUC's layout: `ORDER`, `<x>_OK`, `<x>_TRY`.
 *
 * A grubenv is one 1 KiB block with no checksum and no second copy. Measured on Debian 12
 * (GRUB 2.06): `grub-editenv FILE set …` rewrites FILE in place (open with `O_TRUNC`, write,
 * fsync), so a power cut between truncate and write leaves an empty file that GRUB's `load_env`
 * rejects; and `grub-editenv FILE list` on a missing FILE silently *creates* a fresh block.
 * So this store never edits the live file: it copies it beside itself, runs ONE
 * `grub-editenv COPY set A=… B=…` call on the copy, reads the copy back and checks it is still a
 * 1024-byte block, fsyncs it and renames it over the live file (then fsyncs the directory). A
 * crash leaves either the old or the new complete block. Keep grubenv on a plain FAT or ext
 * partition that GRUB can read (not LVM, RAID or btrfs, where GRUB cannot write it either).
 *
 * Reads never run `grub-editenv list` (it un-escapes values, so a stored newline prints as a
 * second line that parses as another variable GRUB never sees): the store reads the raw block and
 * parses it as GRUB's `grub_envblk_iterate` does ({@link parseGrubEnvBlock}). Values this store
 * writes are checked first (no newline at all).
 *
 * Calls on one instance are serialized; not safe across processes.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { SlotError } from '../../errors.js';
import { renameDurable, tempPathFor } from '../../storage/atomic-file.js';
import { SlotErrorCode } from '../slot-controller.js';
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
  type RaucGrubProfileOptions,
  raucGrubProfile,
} from './env-profiles.js';
import { type RunToolOptions, runTool, type ToolRunner } from './exec.js';
import { GRUBENV_SIGNATURE, parseGrubEnvBlock } from './grub-envblk.js';

/** Size of a GRUB environment block. */
export const GRUBENV_SIZE = 1024;
const GRUBENV_HEADER = GRUBENV_SIGNATURE;

/** Tool location and limits. */
export interface GrubToolOptions {
  /** `grub-editenv` executable (default from PATH). */
  grubEditenv?: string;
  /** Runs the tool (default {@link runTool}); inject a recorder in tests. */
  runTool?: ToolRunner;
  /** Per-call limits. */
  toolOptions?: RunToolOptions;
}

/** {@link EnvStore} over `grub-editenv`, replacing the file atomically. */
export class GrubEnvStore implements EnvStore {
  readonly description: string;
  readonly #file: string;
  readonly #tool: string;
  readonly #run: ToolRunner;
  readonly #toolOptions: RunToolOptions;

  constructor(file: string, tools: GrubToolOptions = {}) {
    this.#file = file;
    this.#tool = tools.grubEditenv ?? 'grub-editenv';
    this.#run = tools.runTool ?? runTool;
    this.#toolOptions = tools.toolOptions ?? {};
    this.description = file;
  }

  async read(names: readonly string[]): Promise<EnvVars> {
    const all = await this.#readBlock(this.#file);
    const vars = new Map<string, string>();
    for (const name of names) {
      const value = all.get(name);
      if (value !== undefined && value !== '') vars.set(name, value);
    }
    return vars;
  }

  async write(changes: readonly EnvChange[]): Promise<void> {
    const sets: string[] = [];
    const unsets: string[] = [];
    for (const [name, value] of changes) {
      assertVariableName(name);
      if (value === null) unsets.push(name);
      else {
        assertVariableValue(name, value);
        sets.push(`${name}=${value}`);
      }
    }
    await this.#checkBlock(this.#file);
    const tmp = tempPathFor(this.#file);
    try {
      await fs.copyFile(this.#file, tmp);
      if (sets.length > 0) await this.#run(this.#tool, [tmp, 'set', ...sets], this.#toolOptions);
      if (unsets.length > 0)
        await this.#run(this.#tool, [tmp, 'unset', ...unsets], this.#toolOptions);
      // Verify the copy before it replaces the live block: a tool that exits 0 without applying
      // anything, or leaves a short block, never reaches GRUB.
      const after = await this.#readBlock(tmp);
      for (const [name, value] of changes) {
        if ((after.get(name) ?? null) !== value) {
          throw new SlotError(
            `${this.#tool} ${tmp} set: ${name} reads back as ${after.get(name) ?? '(unset)'}, not ${value ?? '(unset)'}; ${this.#file} left unchanged`,
            {},
            SlotErrorCode.ReadBack,
          );
        }
      }
      const handle = await fs.open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await renameDurable(tmp, this.#file);
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      if (error instanceof SlotError) throw error;
      throw new SlotError(
        `cannot update GRUB environment ${this.#file}: ${(error as Error).message}`,
        { cause: error },
        SlotErrorCode.Environment,
      );
    }
  }

  /** The variables of `file` as GRUB reads them (the file must be one complete block). */
  async #readBlock(file: string): Promise<Map<string, string>> {
    const vars = parseGrubEnvBlock(await this.#checkBlock(file));
    // #checkBlock verified the signature, so the parser accepts the block.
    return vars ?? new Map();
  }

  /**
   * The file must exist and be one GRUB block (`grub-editenv list` would create a missing one):
   * its 1024 bytes.
   */
  async #checkBlock(file: string): Promise<Buffer> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file, 'r');
      const buf = Buffer.alloc(GRUBENV_SIZE + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (
        bytesRead !== GRUBENV_SIZE ||
        !buf.subarray(0, GRUBENV_HEADER.length).equals(Buffer.from(GRUBENV_HEADER))
      ) {
        throw new SlotError(
          `${file} is not a GRUB environment block (${bytesRead === GRUBENV_SIZE + 1 ? 'more than' : bytesRead} bytes; ` +
            `expected ${GRUBENV_SIZE} starting "${GRUBENV_HEADER.trim()}"): recreate it with \`grub-editenv ${file} create\``,
          {},
          SlotErrorCode.Environment,
        );
      }
      return buf.subarray(0, GRUBENV_SIZE);
    } catch (error) {
      if (error instanceof SlotError) throw error;
      throw new SlotError(
        `GRUB environment ${file} is missing or unreadable: ${(error as Error).message} (create it with \`grub-editenv ${file} create\`)`,
        { cause: error },
        SlotErrorCode.Environment,
      );
    } finally {
      await handle?.close();
    }
  }
}

/** Options of {@link GrubEnvSlotController.create}. */
export interface GrubEnvSlotControllerOptions
  extends EnvSlotControllerOptions,
    GrubToolOptions,
    RaucGrubProfileOptions {
  /** The grubenv file (e.g. `/boot/grub/grubenv`, `/boot/efi/EFI/BOOT/grubenv`). */
  grubenvPath: string;
}

/**
 * {@link SlotController} over a GRUB environment block in RAUC's layout. One try per activation
 * (`maxTries` 1); the booted slot must be confirmed at every boot (GRUB sets its `TRY` flag).
 *
 * @example
 * ```ts
 * const slots = await GrubEnvSlotController.create({
 *   grubenvPath: '/boot/efi/EFI/BOOT/grubenv',
 *   slotDevices: { A: '/dev/sda2', B: '/dev/sda3' },
 * });
 * ```
 */
export class GrubEnvSlotController extends EnvSlotController {
  /** Build the controller (no I/O: the block is checked on first use). */
  static async create(options: GrubEnvSlotControllerOptions): Promise<GrubEnvSlotController> {
    if (typeof options.grubenvPath !== 'string' || options.grubenvPath === '') {
      throw new SlotError('grubenvPath is required', {}, SlotErrorCode.Argument);
    }
    const store = new GrubEnvStore(options.grubenvPath, options);
    const profile = raucGrubProfile(options);
    return new GrubEnvSlotController(store, profile, { atomicActivation: true }, options);
  }
}
