/**
 * The scenarios of the real-boot matrix, written once against {@link RealBoard} so each runs on
 * every bootloader profile. Each drives the real slot controller between real boots and returns
 * the slot sequence it expects; the spec files compare it with what the bootloader booted.
 * Every scenario starts on a fresh device whose first boot chose slot A.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { UpdateAgent } from '../../../src/device/agent.js';
import type { HealthCheck } from '../../../src/device/health-checks.js';
import type { SlotName } from '../../../src/device/slot-controller.js';
import { FsJournalStore } from '../../../src/storage/fs-journal-store.js';
import { MemorySource, makeImage, TUNING, targetOf } from '../agent-helpers.js';
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

/**
 * The whole agent loop across real boots: UpdateAgent installs release 2 into B (verified
 * stream into the slot's file, activation), the bootloader boots it, a fresh agent's resume()
 * commits it; release 3 goes to A, fails its trial health check, is rejected, and the
 * bootloader brings B back, which resume() records as rolled back; release 3 again, whose
 * kernel hangs (no agent on its trial boot): the bootloader falls back by itself.
 */
export async function agentLoop(board: RealBoard): Promise<Outcome> {
  const trace = new Trace(board);
  const V1 = makeImage(100_000, 1);
  const V2 = makeImage(150_000, 2);
  const V3 = makeImage(120_000, 3);
  await fs.writeFile(board.slotDevices.A, V1);
  const source = new MemorySource();
  source.add(targetOf('fw-2.img', V2), V2);
  source.add(
    targetOf('fw-3.img', V3, { hardwareIds: ['board-1'], version: '3.0.0', releaseCounter: 3 }),
    V3,
  );
  let reboots = 0;
  // Each call is one boot's agent process: it holds the state directory's lock until closed,
  // as the real program does when it exits.
  const boot = async <T>(
    step: (agent: UpdateAgent) => Promise<T>,
    healthChecks: HealthCheck[] = [],
  ): Promise<T> => {
    const agent = await createAgent(healthChecks);
    try {
      return await step(agent);
    } finally {
      await agent.close();
    }
  };
  const createAgent = (healthChecks: HealthCheck[]) =>
    UpdateAgent.create({
      slots: board.controller,
      updater: source,
      hardwareId: 'board-1',
      stateDir: path.join(board.dir, 'state'),
      reboot: async () => void reboots++,
      healthChecks,
      tuning: TUNING,
    });
  const broken: HealthCheck = {
    name: 'app',
    run: async () => Promise.reject(new Error('app does not start (release 3)')),
  };

  expect((await boot((a) => a.resume())).outcome).toBe('idle');
  expect((await boot((a) => a.checkAndInstall('fw-2.img'))).outcome).toBe('rebooting');
  expect(reboots).toBe(1);
  expect(await fs.readFile(board.slotDevices.B)).toEqual(Buffer.from(V2));
  await trace.boot();
  expect((await boot((a) => a.resume())).outcome).toBe('committed');
  await trace.boot();
  expect((await boot((a) => a.resume())).outcome).toBe('idle');

  expect((await boot((a) => a.checkAndInstall('fw-3.img'))).outcome).toBe('rebooting');
  await trace.boot(); // release 3's trial
  expect((await boot((a) => a.resume(), [broken])).outcome).toBe('rebooting'); // rejected
  await trace.boot();
  expect((await boot((a) => a.resume())).outcome).toBe('rolledBack');
  await trace.boot();
  expect((await boot((a) => a.resume())).outcome).toBe('idle');
  // Release 3 again; this time its kernel hangs: no agent runs on the trial boot, the watchdog
  // resets, and the bootloader's counting brings B back on its own.
  expect((await boot((a) => a.checkAndInstall('fw-3.img'))).outcome).toBe('rebooting');
  await trace.boot(); // release 3's trial: hangs
  await trace.boot(); // its one try used up: B
  expect((await boot((a) => a.resume())).outcome).toBe('rolledBack');
  await trace.boot();
  expect((await boot((a) => a.resume())).outcome).toBe('idle');

  const installed = await (
    await FsJournalStore.create(path.join(board.dir, 'state'))
  ).readInstalled();
  expect(installed).toMatchObject({ slot: 'B', target: { path: 'fw-2.img' } });
  expect(reboots).toBe(4);
  return { trace, expected: ['B', 'B', 'A', 'B', 'B', 'A', 'B', 'B'] };
}
