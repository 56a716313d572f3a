/**
 * The three environment protocols, driven through the shared controller over an in-memory store,
 * plus a property: whatever sequence of verbs, image writes (good or torn) and power-ons happens,
 * the device never ends up with no bootable slot, as long as the agent follows the contract
 * (invalidate before writing, activate only after a good image is in place).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherSlot, SlotErrorCode, type SlotName } from '../../../src/device/slot-controller.js';
import { BootSimulator } from '../../../src/device/slots/boot-simulator.js';
import { EnvSlotController, type EnvStore } from '../../../src/device/slots/env-controller.js';
import {
  type EnvChange,
  type EnvProfile,
  type EnvVars,
  menderProfile,
  raucGrubProfile,
  raucUbootProfile,
} from '../../../src/device/slots/env-profiles.js';
import { SlotError } from '../../../src/errors.js';

class MemoryStore implements EnvStore {
  readonly description = 'memory';
  writes = 0;
  constructor(readonly vars: Map<string, string>) {}
  async read(names: readonly string[]): Promise<EnvVars> {
    return new Map(
      names.filter((n) => this.vars.has(n)).map((n) => [n, this.vars.get(n) as string]),
    );
  }
  async write(changes: readonly EnvChange[]): Promise<void> {
    this.writes++;
    for (const [n, v] of changes) v === null ? this.vars.delete(n) : this.vars.set(n, v);
  }
}

class MemoryController extends EnvSlotController {
  static make(store: EnvStore, profile: EnvProfile, cmdlinePath: string): MemoryController {
    return new MemoryController(
      store,
      profile,
      { atomicActivation: true },
      {
        slotDevices: { A: '/dev/slot-a', B: '/dev/slot-b' },
        evidence: { cmdlinePath, mountInfoPath: null },
      },
    );
  }
}

const PROFILES: Array<{
  name: string;
  profile: () => EnvProfile;
  initial: Record<string, string>;
}> = [
  {
    name: 'mender',
    profile: () => menderProfile(),
    initial: { boot_part: '2', upgrade_available: '0', bootcount: '0', bootlimit: '1' },
  },
  {
    name: 'rauc-uboot',
    profile: () => raucUbootProfile(),
    initial: { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' },
  },
  {
    name: 'rauc-grub',
    profile: () => raucGrubProfile(),
    initial: { ORDER: 'A B', A_OK: '1', A_TRY: '0', B_OK: '1', B_TRY: '0' },
  },
];

let dir: string;
let counter = 0;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-profiles-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function setup(entry: (typeof PROFILES)[number]) {
  const cmdlinePath = path.join(dir, `cmdline-${counter++}`);
  await fs.writeFile(cmdlinePath, 'root=/dev/slot-a\n');
  const store = new MemoryStore(new Map(Object.entries(entry.initial)));
  const profile = entry.profile();
  return { store, profile, slots: MemoryController.make(store, profile, cmdlinePath), cmdlinePath };
}

describe.each(PROFILES)('$name profile through the controller', (entry) => {
  it('every verb is at most one write, and repeating it writes nothing', async () => {
    const { store, slots } = await setup(entry);
    const sim = new BootSimulator(slots);
    const writesOf = async (verb: () => Promise<void>) => {
      const before = store.writes;
      await verb();
      return store.writes - before;
    };
    expect(await writesOf(() => slots.invalidate('B'))).toBeLessThanOrEqual(1);
    expect(await writesOf(() => slots.invalidate('B'))).toBe(0);
    expect(await writesOf(() => slots.activateTrial('B', { tries: 1 }))).toBe(1);
    expect(await writesOf(() => slots.activateTrial('B', { tries: 1 }))).toBe(0);
    await sim.simulateBoot();
    expect(await slots.bootedSlot()).toBe('B');
    expect(await writesOf(() => slots.confirmBooted())).toBe(1);
    expect(await writesOf(() => slots.confirmBooted())).toBe(0);
  });

  it('an unknown slot name is refused', async () => {
    const { slots } = await setup(entry);
    await expect(slots.invalidate('C' as SlotName)).rejects.toMatchObject({
      code: SlotErrorCode.Argument,
    });
    expect(() => slots.slotDevice('C' as SlotName)).toThrow(SlotError);
  });

  it('property: following the contract, no sequence of events bricks the device', async () => {
    type Step =
      | {
          kind: 'update';
          good: boolean;
          tries: number;
          interrupt: 'none' | 'afterInvalidate' | 'afterWrite';
        }
      | { kind: 'boot' }
      | { kind: 'confirm' }
      | { kind: 'reject' }
      | { kind: 'cancel' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constant('update' as const),
        good: fc.boolean(),
        tries: fc.integer({ min: 1, max: 3 }),
        interrupt: fc.constantFrom(
          'none' as const,
          'afterInvalidate' as const,
          'afterWrite' as const,
        ),
      }),
      fc.constant({ kind: 'boot' as const }),
      fc.constant({ kind: 'confirm' as const }),
      fc.constant({ kind: 'reject' as const }),
      fc.constant({ kind: 'cancel' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        const { slots } = await setup(entry);
        const good: Record<SlotName, boolean> = { A: true, B: true };
        const sim = new BootSimulator(slots, { isBootable: (s) => good[s] });
        const tolerate = (p: Promise<unknown>) =>
          p.catch((e: unknown) => {
            // Contract refusals are fine; anything else is a bug.
            if (
              !(e instanceof SlotError) ||
              ![SlotErrorCode.State, SlotErrorCode.BootedSlot, SlotErrorCode.Argument].includes(
                e.code as never,
              )
            )
              throw e;
          });
        for (const s of steps) {
          if (s.kind === 'update') {
            const target = otherSlot(await slots.bootedSlot());
            let ok = true;
            await slots.invalidate(target).catch(() => (ok = false));
            if (!ok) continue;
            good[target] = false; // torn until fully written
            if (s.interrupt === 'afterInvalidate') continue;
            if (!s.good) continue; // the agent's hash check fails: never activated
            good[target] = true;
            if (s.interrupt === 'afterWrite') continue;
            await tolerate(
              slots.activateTrial(target, {
                tries: Math.min(s.tries, slots.capabilities().maxTries),
              }),
            );
          } else if (s.kind === 'boot') {
            await sim.simulateBoot(); // throws ERR_TUF_SLOT_NO_BOOTABLE on a brick
          } else if (s.kind === 'confirm') {
            await tolerate(slots.confirmBooted());
          } else if (s.kind === 'reject') {
            await tolerate(slots.rejectBooted());
          } else {
            await tolerate(slots.cancelTrial());
          }
        }
        // Bad images can only sit in a slot the bootloader will not pick as long as a good one exists.
        await sim.simulateBoot();
        await sim.simulateBoot();
      }),
      { numRuns: 100 },
    );
  });
});

describe('status edge cases', () => {
  it('Mender: a trial with bootcount at bootlimit reports the fallback as next boot', () => {
    const p = menderProfile();
    const env = new Map(
      Object.entries({ boot_part: '3', upgrade_available: '1', bootcount: '2', bootlimit: '2' }),
    );
    expect(p.status(env, 'B')).toMatchObject({
      nextBoot: 'A',
      trialPending: true,
      slots: { B: { triesLeft: 0 } },
    });
    expect(p.bootedState(env, 'B')).toBe('trial');
  });

  it('RAUC U-Boot: an order naming no slot and bad counters are environment errors', () => {
    const p = raucUbootProfile();
    expect(() => p.status(new Map([['BOOT_ORDER', 'R']]), 'A')).toThrow(
      expect.objectContaining({ code: SlotErrorCode.Environment }),
    );
    expect(() => p.status(new Map([['BOOT_A_LEFT', '-1']]), 'A')).toThrow(
      expect.objectContaining({ code: SlotErrorCode.Environment }),
    );
  });

  it('RAUC U-Boot: an unknown bootname in the order (a recovery slot) is preserved', () => {
    const p = raucUbootProfile();
    const env = new Map([['BOOT_ORDER', 'A R B']]);
    expect(p.activateTrial(env, 'A', 'B', 2)).toEqual([
      ['BOOT_B_LEFT', '2'],
      ['BOOT_ORDER', 'B A R'],
    ]);
  });

  it('GRUB: the bootloader marks every examined slot tried', () => {
    const p = raucGrubProfile();
    const env = new Map(
      Object.entries({ ORDER: 'B A', B_OK: '1', B_TRY: '1', A_OK: '1', A_TRY: '0' }),
    );
    expect(p.bootStep(env)).toEqual({ changes: [['A_TRY', '1']], slot: 'A' });
  });

  it('GRUB: when no slot qualifies, TRY flags of OK slots are cleared and the default entry boots', () => {
    const p = raucGrubProfile();
    const env = new Map(
      Object.entries({ ORDER: 'B', B_OK: '1', B_TRY: '1', A_OK: '0', A_TRY: '0' }),
    );
    expect(p.status(env, 'B')).toMatchObject({ nextBoot: 'A' });
    expect(p.bootStep(env)).toEqual({ changes: [['B_TRY', '0']], slot: 'A' });
  });
});
