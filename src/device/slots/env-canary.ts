/**
 * The bootloader-side canary: proof, at every boot, that the bootloader loaded the same
 * environment the OS side reads and writes.
 *
 * Why: Linux can read back exactly what it wrote while the bootloader loads another copy — a
 * redundant NOR environment reached through `/dev/mtdblockN` (libubootenv's counter flags versus
 * U-Boot's active/obsolete flags in `env/flash.c`), or a `fw_env.config` whose offsets are not
 * U-Boot's. Every write then silently fails to reach the bootloader: an activation never boots,
 * a commit is rolled back. Read-back cannot see it; only the bootloader can.
 *
 * How:
 * - with the canary on, every write of the controller also sets `tufota_env_seq` to a fresh
 *   random value and `tufota_env_writer` to this boot's id (`/proc/sys/kernel/random/boot_id`);
 * - the boot script passes the value it loaded on the kernel command line:
 *   `tufota.envseq=${tufota_env_seq}` (the shipped `boot-scripts/uboot-*` do);
 * - before every read-modify-write and in `status()`, the controller compares. Equal: the
 *   bootloader saw the latest write. Different, but the environment was written during this
 *   boot: the write is simply not booted yet. Different and written during an earlier boot: the
 *   bootloader booted from something else — {@link SlotError} `ERR_TUF_SLOT_ENV`.
 *
 * Bootloader saves (U-Boot's bootcount, RAUC's counters) copy the variables unchanged, so they
 * never trip it; a power cut that leaves the previous copy makes both sides read that copy.
 *
 * Reads `/proc` files only (paths injectable for tests). Safe for concurrent use.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { SlotError } from '../../errors.js';
import { SlotErrorCode } from '../slot-controller.js';
import { DEFAULT_CMDLINE_PATH, parseKernelCmdline, readCapped } from './booted-slot.js';
import type { EnvChange, EnvVars } from './env-profiles.js';

/** The variable holding the generation of the last write. */
export const CANARY_SEQ_VARIABLE = 'tufota_env_seq';
/** The variable holding the boot id of the boot that made the last write. */
export const CANARY_WRITER_VARIABLE = 'tufota_env_writer';
/** The kernel command-line parameter carrying the generation the bootloader loaded. */
export const CANARY_CMDLINE_PARAM = 'tufota.envseq';
/** Linux's per-boot random id. */
export const DEFAULT_BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

/** Where the canary's evidence is. */
export interface EnvCanaryOptions {
  /** Kernel command line (default `/proc/cmdline`). */
  cmdlinePath?: string;
  /** This boot's id (default `/proc/sys/kernel/random/boot_id`). */
  bootIdPath?: string;
}

/** The canary of one controller: what each write adds, and the check at each boot. */
export class EnvCanary {
  readonly variables = [CANARY_SEQ_VARIABLE, CANARY_WRITER_VARIABLE] as const;
  readonly #cmdlinePath: string;
  readonly #bootIdPath: string;

  constructor(options: EnvCanaryOptions = {}) {
    this.#cmdlinePath = options.cmdlinePath ?? DEFAULT_CMDLINE_PATH;
    this.#bootIdPath = options.bootIdPath ?? DEFAULT_BOOT_ID_PATH;
  }

  /** The variables every write adds: a fresh generation, and who wrote it. */
  async changes(): Promise<EnvChange[]> {
    return [
      [CANARY_SEQ_VARIABLE, randomBytes(8).toString('hex')],
      [CANARY_WRITER_VARIABLE, await this.#bootId()],
    ];
  }

  /**
   * Check that the bootloader loaded the environment `env` was read from (see the module
   * comment).
   *
   * @throws SlotError `ERR_TUF_SLOT_ENV` if it did not, or if the boot script does not pass
   *   `tufota.envseq=` at all.
   */
  async check(env: EnvVars, where: string): Promise<void> {
    const params = parseKernelCmdline(
      await readCapped(this.#cmdlinePath, 64 * 1024, 'kernel command line'),
    );
    const seen = params.get(CANARY_CMDLINE_PARAM);
    if (seen === undefined) {
      throw new SlotError(
        `the environment canary is on but ${this.#cmdlinePath} has no ${CANARY_CMDLINE_PARAM}=: ` +
          `add "${CANARY_CMDLINE_PARAM}=\${${CANARY_SEQ_VARIABLE}}" to the bootargs your boot script sets`,
        {},
        SlotErrorCode.Environment,
      );
    }
    const current = env.get(CANARY_SEQ_VARIABLE) ?? '';
    if (seen === current) return;
    if (env.get(CANARY_WRITER_VARIABLE) === (await this.#bootId())) return; // not rebooted yet
    throw new SlotError(
      `the bootloader did not load the environment this system writes: it booted with ` +
        `${CANARY_SEQ_VARIABLE}=${seen || '(unset)'} but ${where} holds ${current || '(unset)'}, written during an earlier boot. ` +
        'Writes are not reaching the bootloader (a redundant NOR environment reached through /dev/mtdblockN, or ' +
        'fw_env.config offsets that are not U-Boot’s): fix the environment configuration before updating',
      {},
      SlotErrorCode.Environment,
    );
  }

  async #bootId(): Promise<string> {
    const id = (await readCapped(this.#bootIdPath, 256, 'boot id')).trim();
    if (!/^[0-9a-f-]{8,64}$/i.test(id)) {
      throw new SlotError(
        `${this.#bootIdPath} does not hold a boot id: ${JSON.stringify(id.slice(0, 80))}`,
        {},
        SlotErrorCode.Evidence,
      );
    }
    return id;
  }
}
