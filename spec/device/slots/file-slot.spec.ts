import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlotErrorCode } from '../../../src/device/slot-controller.js';
import { BootSimulator, imageStartsWith } from '../../../src/device/slots/boot-simulator.js';
import { FileEnvStore, FileSlotController } from '../../../src/device/slots/file-slot.js';
import { SlotError } from '../../../src/errors.js';
import { evidenceOf, GOOD_IMAGE, makeRig, type Rig } from './helpers.js';

let rig: Rig;
let envPath: string;

async function controller(): Promise<FileSlotController> {
  return FileSlotController.create({
    envPath,
    slotDevices: rig.slotDevices,
    evidence: evidenceOf(rig),
  });
}

async function readEnv(): Promise<Record<string, string>> {
  return JSON.parse(await fs.readFile(envPath, 'utf8'));
}

/** What the agent does between invalidate and activateTrial. */
async function writeImage(device: string, content: string): Promise<void> {
  await fs.writeFile(device, content);
}

beforeEach(async () => {
  rig = await makeRig('A');
  envPath = path.join(rig.dir, 'bootenv.json');
  await FileSlotController.initEnv({ envPath });
});
afterEach(() => rig.cleanup());

describe('FileSlotController', () => {
  it('reports the initial state: A booted, confirmed, settled', async () => {
    const slots = await controller();
    expect(slots.capabilities()).toMatchObject({
      profile: 'file-mender',
      atomicActivation: true,
      confirmEveryBoot: false,
    });
    expect(await slots.status()).toEqual({
      booted: 'A',
      nextBoot: 'A',
      trialPending: false,
      slots: {
        A: { bootable: true, confirmed: true, triesLeft: null },
        B: { bootable: false, confirmed: false, triesLeft: null },
      },
    });
    expect(await slots.updateTarget()).toBe('B');
    expect(slots.slotDevice('B')).toBe(rig.slotDevices.B);
  });

  it('runs a whole update: invalidate, write, activate, boot the new slot, confirm', async () => {
    const slots = await controller();
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    const target = await slots.updateTarget();
    await slots.invalidate(target);
    await writeImage(slots.slotDevice(target), `${GOOD_IMAGE}version 2\n`);
    await slots.activateTrial(target, { tries: 2 });
    expect(await readEnv()).toEqual({
      boot_part: 'B',
      upgrade_available: '1',
      bootcount: '0',
      bootlimit: '2',
    });
    const before = await slots.status();
    expect(before).toMatchObject({ booted: 'A', nextBoot: 'B', trialPending: true });
    expect(before.slots.B).toEqual({ bootable: true, confirmed: false, triesLeft: 2 });

    const boot = await sim.simulateBoot();
    expect(boot).toMatchObject({ booted: 'B', fellBack: false, attempts: 1 });
    expect(await slots.bootedSlot()).toBe('B');
    expect((await slots.status()).slots.B.triesLeft).toBe(1);

    await slots.confirmBooted();
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'B', trialPending: false });
    expect((await sim.simulateBoot()).booted).toBe('B');
    expect(await slots.updateTarget()).toBe('A');
  });

  it('falls back when the new slot does not boot, after exactly `tries` failed attempts', async () => {
    const slots = await controller();
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    await writeImage(rig.slotDevices.B, 'garbage: not an image');
    await slots.activateTrial('B', { tries: 3 });
    const boot = await sim.simulateBoot();
    expect(boot.booted).toBe('A');
    expect(boot.fellBack).toBe(true);
    expect(boot.attempts).toBe(4); // three tries of B, then altbootcmd boots A
    expect(await slots.status()).toMatchObject({ booted: 'A', nextBoot: 'A', trialPending: false });
    expect(await readEnv()).toMatchObject({ boot_part: 'A', upgrade_available: '0' });
  });

  it('rejectBooted in the new slot makes the next boot fall back to the old one', async () => {
    const slots = await controller();
    const sim = new BootSimulator(slots);
    await slots.invalidate('B');
    await slots.activateTrial('B', { tries: 1 });
    expect((await sim.simulateBoot()).booted).toBe('B');
    await slots.rejectBooted();
    await slots.rejectBooted(); // idempotent
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'A', trialPending: true });
    expect((await slots.status()).slots.B.bootable).toBe(false);
    const boot = await sim.simulateBoot();
    expect(boot).toMatchObject({ booted: 'A', fellBack: false });
    await expect(slots.rejectBooted()).rejects.toMatchObject({ code: SlotErrorCode.State });
  });

  it('refuses to confirm a rejected slot', async () => {
    const slots = await controller();
    await slots.invalidate('B');
    await slots.activateTrial('B', { tries: 1 });
    await new BootSimulator(slots).simulateBoot();
    await slots.rejectBooted();
    await expect(slots.confirmBooted()).rejects.toMatchObject({ code: SlotErrorCode.State });
  });

  it('cancelTrial before the reboot keeps the old slot; it is idempotent and a no-op without a trial', async () => {
    const slots = await controller();
    const initial = await fs.readFile(envPath, 'utf8');
    await slots.cancelTrial();
    expect(await fs.readFile(envPath, 'utf8')).toBe(initial);
    await slots.activateTrial('B', { tries: 1 });
    await slots.cancelTrial();
    await slots.cancelTrial();
    expect(await slots.status()).toMatchObject({ nextBoot: 'A', trialPending: false });
    expect((await new BootSimulator(slots).simulateBoot()).booted).toBe('A');
  });

  it('refuses to invalidate or activate the booted slot', async () => {
    const slots = await controller();
    const before = await fs.readFile(envPath, 'utf8');
    await expect(slots.invalidate('A')).rejects.toMatchObject({ code: SlotErrorCode.BootedSlot });
    await expect(slots.activateTrial('A', { tries: 1 })).rejects.toMatchObject({
      code: SlotErrorCode.BootedSlot,
    });
    expect(await fs.readFile(envPath, 'utf8')).toBe(before);
  });

  it('refuses tries outside 1 … maxTries', async () => {
    const slots = await controller();
    for (const tries of [0, 4, 1.5, Number.NaN]) {
      await expect(slots.activateTrial('B', { tries })).rejects.toMatchObject({
        code: SlotErrorCode.Argument,
      });
    }
  });

  it('refuses to touch the fallback while the booted slot is on trial', async () => {
    const slots = await controller();
    await slots.activateTrial('B', { tries: 2 });
    await new BootSimulator(slots).simulateBoot();
    await expect(slots.invalidate('A')).rejects.toMatchObject({ code: SlotErrorCode.State });
    await expect(slots.activateTrial('A', { tries: 1 })).rejects.toMatchObject({
      code: SlotErrorCode.State,
    });
    await expect(slots.cancelTrial()).rejects.toMatchObject({ code: SlotErrorCode.State });
  });

  it('repeating a verb writes nothing (the file is not replaced)', async () => {
    const slots = await controller();
    await slots.invalidate('B');
    await slots.activateTrial('B', { tries: 1 });
    const inode = (await fs.stat(envPath)).ino;
    await slots.activateTrial('B', { tries: 1 });
    await slots.invalidate('A').catch(() => {});
    expect((await fs.stat(envPath)).ino).toBe(inode);
  });

  it('reports a bricked device when no slot boots', async () => {
    const slots = await controller();
    const sim = new BootSimulator(slots, { isBootable: () => false, maxAttempts: 5 });
    const error = await sim.simulateBoot().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlotError);
    expect((error as SlotError).code).toBe(SlotErrorCode.NoBootableSlot);
  });

  it('rejects a missing, corrupt or oversized environment file with ERR_TUF_SLOT_ENV', async () => {
    const slots = await controller();
    await fs.rm(envPath);
    await expect(slots.status()).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(/initEnv/),
    });
    await fs.writeFile(envPath, '{"boot_part": 2}');
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
    await fs.writeFile(envPath, '{"boot_part": "C"}');
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
    await fs.writeFile(envPath, '{"boot_part": "A", "upgrade_available": "yes"}');
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
    await fs.writeFile(envPath, `{"x": "${'a'.repeat(70_000)}"}`);
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
  });

  it('initEnv refuses to overwrite unless asked', async () => {
    await expect(FileSlotController.initEnv({ envPath })).rejects.toMatchObject({
      code: SlotErrorCode.State,
    });
    await FileSlotController.initEnv({ envPath, bootSlot: 'B', overwrite: true });
    expect(await new FileEnvStore(envPath).readAll()).toEqual(
      new Map([
        ['boot_part', 'B'],
        ['bootcount', '0'],
        ['bootlimit', '1'],
        ['upgrade_available', '0'],
      ]),
    );
  });

  it('serializes concurrent verbs on one instance', async () => {
    const slots = await controller();
    await Promise.all([
      slots.invalidate('B'),
      slots.activateTrial('B', { tries: 1 }),
      slots.status(),
    ]);
    expect(await readEnv()).toMatchObject({ boot_part: 'B', upgrade_available: '1' });
  });
});
