/**
 * The scenarios of the real-boot matrix, written once against {@link RealBoard} so each runs on
 * every bootloader profile. Each drives the real slot controller between real boots and returns
 * the slot sequence it expects; the spec files compare it with what the bootloader booted.
 * Every scenario starts on a fresh device whose first boot chose slot A.
 */
import { promises as fs } from 'node:fs';
import { expect } from 'vitest';
import type { SlotName } from '../../../src/device/slot-controller.js';
import type { RealBoard } from './board.js';
import { Trace } from './matrix.js';

export interface Outcome {
  trace: Trace;
  expected: SlotName[];
  /** The controller reported its own wrong prediction (an error code). */
  detected?: string;
}

/**
 * What the agent does on slot A: confirm the normal boot where the profile counts every boot,
 * invalidate B, "write" the new image into it, activate it for a trial of `tries` boots.
 */
export async function installB(board: RealBoard, tries: number): Promise<void> {
  const slots = board.controller;
  expect(await slots.bootedSlot()).toBe('A');
  if (slots.capabilities().confirmEveryBoot) await slots.confirmBooted();
  expect(await slots.updateTarget()).toBe('B');
  await slots.invalidate('B');
  await fs.writeFile(board.slotDevices.B, 'release 2\n');
  await slots.activateTrial('B', { tries });
}

/** Tries to use for "falls back after its tries": 2 where the profile allows it. */
function fewTries(board: RealBoard): number {
  return Math.min(2, board.controller.capabilities().maxTries);
}

export const SCENARIOS = {
  /** activateTrial(B) → the next power-on boots B, and the controller sees B booted, on trial. */
  async trialBoot(board: RealBoard): Promise<Outcome> {
    const trace = new Trace(board);
    await installB(board, 1);
    await trace.boot();
    expect(await board.controller.bootedSlot()).toBe('B');
    expect((await board.controller.status()).trialPending).toBe(true);
    return { trace, expected: ['B'] };
  },

  /** Trial boot, confirmBooted() (on every boot where the profile needs it): B stays. */
  async commit(board: RealBoard): Promise<Outcome> {
    const trace = new Trace(board);
    const slots = board.controller;
    await installB(board, 1);
    for (let i = 0; i < 3; i++) {
      await trace.boot();
      expect(await slots.bootedSlot()).toBe('B');
      if (i === 0 || slots.capabilities().confirmEveryBoot) await slots.confirmBooted();
      const status = await slots.status();
      expect(status.trialPending).toBe(false);
      expect(status.slots.B.confirmed).toBe(true);
    }
    return { trace, expected: ['B', 'B', 'B'] };
  },

  /** A new slot that never confirms gets exactly its tries, then the bootloader falls back. */
  async neverConfirmed(board: RealBoard): Promise<Outcome> {
    const trace = new Trace(board);
    const tries = fewTries(board);
    await installB(board, tries);
    for (let i = 0; i < tries; i++) await trace.boot();
    await trace.boot();
    expect(await board.controller.bootedSlot()).toBe('A');
    return { trace, expected: [...Array<SlotName>(tries).fill('B'), 'A'] };
  },

  /** Trial boot of B, health checks fail: rejectBooted() → the next power-on boots A. */
  async rejectBooted(board: RealBoard): Promise<Outcome> {
    const trace = new Trace(board);
    await installB(board, fewTries(board));
    await trace.boot();
    await board.controller.rejectBooted();
    expect((await board.controller.status()).nextBoot).toBe('A');
    await trace.boot();
    expect(await board.controller.bootedSlot()).toBe('A');
    return { trace, expected: ['B', 'A'] };
  },
} as const;
