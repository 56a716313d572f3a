/**
 * A bootloader in a box: plays what U-Boot (Mender-style bootcount/bootlimit/altbootcmd, or
 * RAUC's boot script) or GRUB (RAUC's grub.cfg) does at power-on, over the same environment a
 * controller manages — the JSON file of `FileSlotController`, or the real U-Boot / GRUB
 * environment through `fw_setenv` / `grub-editenv`. Each simulated boot saves the bootloader's
 * variable changes (as `saveenv` / `save_env` would), decides which slot loads, asks a
 * caller-provided check whether that slot's image actually boots, and writes the per-boot evidence
 * (a fake kernel command line: `root=<slot device>` and, for RAUC layouts, `rauc.slot=`) that
 * `bootedSlot()` reads. A slot that fails the check counts as a failed attempt followed by a
 * watchdog reset, so "the new slot does not boot" runs to its fallback, and a device with no
 * bootable slot is reported as bricked instead of looping.
 *
 * For tests, demos and integration rehearsals; never used on a device. Not safe for concurrent use
 * with the controller it drives (a real bootloader never runs beside Linux either).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { SlotError } from '../../errors.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { SlotErrorCode, type SlotName } from '../slot-controller.js';
import type { EnvSlotController, SimulationHandle } from './env-controller.js';

/** Decides whether the image in `slot` (at `device`) boots. */
export type BootabilityCheck = (slot: SlotName, device: string) => boolean | Promise<boolean>;

/** Options of {@link BootSimulator}. */
export interface BootSimulatorOptions {
  /** Whether a slot's image boots (default: every slot boots). See {@link imageStartsWith}. */
  isBootable?: BootabilityCheck;
  /** Power-on attempts per {@link BootSimulator.simulateBoot} before the device counts as bricked (default 10). */
  maxAttempts?: number;
  /** Extra kernel parameters for the fake command line. */
  extraCmdline?: string;
}

/** The outcome of one {@link BootSimulator.simulateBoot}. */
export interface SimulatedBoot {
  /** The slot that came up. */
  booted: SlotName;
  /** The bootloader did not boot the slot its environment designated as primary at power-on. */
  fellBack: boolean;
  /** Power-on attempts it took (1 when the first attempt boots). */
  attempts: number;
  /** What happened, one line per step, for test failure messages and demos. */
  log: string[];
}

/**
 * A {@link BootabilityCheck} that boots a slot only if its image starts with `prefix` (a
 * header or magic the test images carry; a half-written or invalidated slot lacks it).
 */
export function imageStartsWith(prefix: Uint8Array | string): BootabilityCheck {
  const want = typeof prefix === 'string' ? Buffer.from(prefix) : Buffer.from(prefix);
  return async (_slot, device) => {
    const handle = await fs.open(device, 'r').catch(() => undefined);
    if (!handle) return false;
    try {
      const buf = Buffer.alloc(want.length);
      const { bytesRead } = await handle.read(buf, 0, want.length, 0);
      return bytesRead === want.length && buf.equals(want);
    } finally {
      await handle.close();
    }
  };
}

/**
 * Simulates power-on for an environment-backed controller.
 *
 * @example
 * ```ts
 * const sim = new BootSimulator(slots, { isBootable: imageStartsWith('IMG1') });
 * await slots.activateTrial('B', { tries: 1 });
 * const { booted, fellBack } = await sim.simulateBoot(); // B, or A if B's image is bad
 * ```
 */
export class BootSimulator {
  readonly #target: SimulationHandle;
  readonly #isBootable: BootabilityCheck;
  readonly #maxAttempts: number;
  readonly #extra: string;

  constructor(target: EnvSlotController | SimulationHandle, options: BootSimulatorOptions = {}) {
    this.#target = 'simulation' in target ? target.simulation : target;
    this.#isBootable = options.isBootable ?? (() => true);
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#extra = options.extraCmdline ?? '';
    if (this.#target.cmdlinePath.startsWith('/proc/')) {
      throw new SlotError(
        'the boot simulator writes a fake kernel command line: give the controller evidence.cmdlinePath pointing at a file, not /proc',
        {},
        SlotErrorCode.Argument,
      );
    }
    if (!Number.isSafeInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new SlotError(
        `maxAttempts must be a positive integer, got ${this.#maxAttempts}`,
        {},
        SlotErrorCode.Argument,
      );
    }
  }

  /**
   * Power the device on until a slot boots; write the per-boot evidence for it.
   *
   * @throws SlotError `ERR_TUF_SLOT_NO_BOOTABLE` if no slot boots within `maxAttempts` power-ons.
   */
  async simulateBoot(): Promise<SimulatedBoot> {
    const { store, profile } = this.#target;
    const log: string[] = [];
    const primary = profile.primarySlot(await store.read(profile.variables));
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const env = await store.read(profile.variables);
      const step = profile.bootStep(env);
      const changes = step.changes.filter(([name, value]) => (env.get(name) ?? null) !== value);
      if (changes.length > 0) {
        await store.write(changes);
        log.push(
          `power-on ${attempt}: bootloader saved ${changes.map(([n, v]) => `${n}=${v ?? ''}`).join(' ')}`,
        );
      }
      if (step.slot === null) {
        log.push(`power-on ${attempt}: no slot has tries left; bootloader reset`);
        continue;
      }
      const device = this.#target.slotDevice(step.slot);
      if (!(await this.#isBootable(step.slot, device))) {
        log.push(
          `power-on ${attempt}: slot ${step.slot} (${device}) failed to boot; watchdog reset`,
        );
        continue;
      }
      await this.#writeEvidence(step.slot, device);
      log.push(`power-on ${attempt}: slot ${step.slot} booted`);
      return { booted: step.slot, fellBack: step.slot !== primary, attempts: attempt, log };
    }
    throw new SlotError(
      `no slot booted in ${this.#maxAttempts} power-ons: the device is bricked\n${log.join('\n')}`,
      {},
      SlotErrorCode.NoBootableSlot,
    );
  }

  async #writeEvidence(slot: SlotName, device: string): Promise<void> {
    const bootname = this.#target.profile.bootnames?.[slot];
    const root = /\s/.test(device) ? `"root=${device}"` : `root=${device}`;
    const params = ['console=ttyS0,115200', root, 'rootwait', 'ro'];
    if (bootname !== undefined) params.push(`rauc.slot=${bootname}`);
    if (this.#extra) params.push(this.#extra);
    await writeFileAtomic(this.#target.cmdlinePath, `${params.join(' ')}\n`);
  }
}
