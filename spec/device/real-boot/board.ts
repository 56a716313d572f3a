/**
 * A "device" for the real-boot tests: a slot controller (the real one, over the real tools)
 * and a power button that boots the real bootloader under QEMU. After each power-on the kernel
 * command line the bootloader composed is written where the controller reads its per-boot
 * evidence, so `bootedSlot()` learns the slot from the bootloader itself, as on a device.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SlotName } from '../../../src/device/slot-controller.js';
import { parseKernelCmdline } from '../../../src/device/slots/booted-slot.js';
import type { EnvSlotController } from '../../../src/device/slots/env-controller.js';

/** One power-on, as seen on the serial console. */
export interface BootRecord {
  /** The slot the bootloader chose (from its console line). */
  slot: SlotName;
  /** The kernel command line it composed for that slot. */
  cmdline: string;
  /** QEMU runs it took (a RAUC "no slot left" reset is followed by another power-on). */
  runs: number;
  /** The serial log of the last run. */
  log: string;
  ms: number;
}

export interface RealBoard {
  /** Profile id, as `capabilities().profile`. */
  readonly profile: string;
  readonly controller: EnvSlotController;
  /** A scratch directory removed by `close()`. */
  readonly dir: string;
  /** Files holding the slot images (the agent writes updates there). */
  readonly slotDevices: Record<SlotName, string>;
  /** Power the device on and let the bootloader pick a slot. */
  powerOn(): Promise<BootRecord>;
  close(): Promise<void>;
}

/** A scratch dir with two slot image files and the per-boot evidence file. */
export async function scratch(prefix: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `tufota-${prefix}-`));
  const slotDevices = { A: path.join(dir, 'slot-a.img'), B: path.join(dir, 'slot-b.img') };
  await fs.writeFile(slotDevices.A, 'slot A\n');
  await fs.writeFile(slotDevices.B, 'slot B\n');
  const cmdlinePath = path.join(dir, 'cmdline');
  return { dir, slotDevices, cmdlinePath };
}

/**
 * Find the bootloader's `<prefix> slot X: <cmdline>` line (the last one) and check the command
 * line names the same slot.
 */
export function decision(log: string, prefix: string): { slot: SlotName; cmdline: string } | null {
  const re = new RegExp(`^${prefix} slot ([AB]): (.*)$`, 'gm');
  let found: { slot: SlotName; cmdline: string } | null = null;
  for (const m of log.matchAll(re)) found = { slot: m[1] as SlotName, cmdline: m[2] as string };
  if (found) {
    const params = parseKernelCmdline(found.cmdline);
    const marker = params.get('rauc.slot') ?? params.get('tufota.slot');
    if (marker !== found.slot)
      throw new Error(`console says slot ${found.slot} but the command line says ${marker}`);
  }
  return found;
}
