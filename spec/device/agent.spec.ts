/**
 * UpdateAgent over file slots and the boot simulator: whole update cycles, policy refusals
 * before any byte, tampered images, interrupted and resumed downloads, identical-block skipping,
 * health-check rollbacks, floors, corrupt journals.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpdateAgent, type UpdateAgentOptions } from '../../src/device/agent.js';
import type { HealthCheck } from '../../src/device/health-checks.js';
import { DEVICE_CHANNELS, type ReportEvent } from '../../src/device/reporter.js';
import type { SimulatedBoot } from '../../src/device/slots/index.js';
import { FsJournalStore } from '../../src/storage/fs-journal-store.js';
import {
  type DeviceRig,
  MemorySource,
  makeDeviceRig,
  makeImage,
  sha256,
  TUNING,
  targetOf,
  wrapSlots,
} from './agent-helpers.js';

let dev: DeviceRig;
let source: MemorySource;
let reports: ReportEvent[];
let boots: SimulatedBoot[];

const V2 = makeImage(1_000_000, 2); // ~16 blocks of 64 KiB, not a multiple of the block size

beforeEach(async () => {
  dev = await makeDeviceRig();
  source = new MemorySource();
  reports = [];
  boots = [];
});
afterEach(async () => {
  await dev.cleanup();
});

/**
 * An agent as a fresh process would build it. Over a store, not `stateDir`: earlier "processes"
 * of a test are abandoned, not closed, so they would still hold the state-directory lock.
 */
async function agent(extra: Partial<UpdateAgentOptions> = {}): Promise<UpdateAgent> {
  return UpdateAgent.create({
    slots: dev.slots,
    updater: source,
    hardwareId: 'board-1',
    journalStore: await FsJournalStore.create(dev.stateDir),
    reporter: { report: async (e) => void reports.push(e) },
    reboot: async () => void boots.push(await dev.sim.simulateBoot()),
    tuning: TUNING,
    ...extra,
  });
}

async function envText(): Promise<string> {
  return fs.readFile(dev.envPath, 'utf8');
}

async function slotHash(slot: 'A' | 'B', length?: number): Promise<string> {
  const bytes = await dev.read(dev.rig.slotDevices[slot]);
  return sha256(length === undefined ? bytes : bytes.subarray(0, length));
}

describe('UpdateAgent: a successful update', () => {
  it('installs into the inactive slot, reboots into it, confirms after health checks and raises floors', async () => {
    const info = source.add(targetOf('fw.img', V2), V2);
    const aBefore = await slotHash('A');
    const steps: string[] = [];
    const onStep = (m: unknown) => steps.push((m as { step: string }).step);
    subscribe(DEVICE_CHANNELS.step, onStep);
    try {
      const a1 = await agent();
      expect((await a1.resume()).outcome).toBe('idle');
      const result = await a1.checkAndInstall('fw.img');
      expect(result.outcome).toBe('rebooting');
      expect(result.slot).toBe('B');
      expect(result.write?.bytesWritten).toBe(V2.byteLength);
      expect(boots).toHaveLength(1);
      expect(boots[0]?.booted).toBe('B');

      let checked = 0;
      const a2 = await agent({ healthChecks: [{ name: 'app', run: async () => void checked++ }] });
      const resumed = await a2.resume();
      expect(resumed.outcome).toBe('committed');
      expect(checked).toBe(1);
      expect(resumed.healthChecks?.map((r) => r.ok)).toEqual([true, true]);
    } finally {
      unsubscribe(DEVICE_CHANNELS.step, onStep);
    }
    // The booted slot was never written; the new slot holds exactly the image.
    expect(await slotHash('A')).toBe(aBefore);
    expect(await slotHash('B')).toBe(info.hashes.sha256);
    const status = await dev.slots.status();
    expect(status).toMatchObject({ booted: 'B', nextBoot: 'B', trialPending: false });
    const state = await (await agent()).state();
    expect(state.journal?.phase).toBe('committed');
    expect(state.installed).toMatchObject({
      slot: 'B',
      floors: { version: '2.0.0', releaseCounter: 2 },
    });
    // Order of the commit: invalidate before any block, activate after verification,
    // floors after confirmBooted.
    const idx = (s: string) => steps.indexOf(s);
    expect(idx('journal:writing')).toBeLessThan(idx('invalidated'));
    expect(idx('invalidated')).toBeLessThan(idx('block'));
    expect(idx('verified')).toBeLessThan(idx('activated'));
    expect(idx('activated')).toBeLessThan(idx('journal:activated'));
    expect(idx('confirmed')).toBeLessThan(idx('floors-raised'));
    expect(idx('floors-raised')).toBeLessThan(idx('journal:committed'));
    expect(reports.map((r) => r.phase)).toEqual([
      'writing',
      'written',
      'activated',
      'rebooting',
      'verifying',
      'committed',
    ]);
    expect(reports.at(-1)).toMatchObject({ result: 'success', installedVersion: '2.0.0' });
  });

  it('says up-to-date when the booted slot already runs the target', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent()).checkAndInstall('fw.img');
    expect((await (await agent()).resume()).outcome).toBe('committed');
    const again = await (await agent()).checkAndInstall('fw.img');
    expect(again.outcome).toBe('up-to-date');
    expect(boots).toHaveLength(1);
  });

  it('always runs the update-server check: an image that cannot refresh is rolled back', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent()).checkAndInstall('fw.img');
    source.refreshError = new Error('TLS handshake failed');
    const verdict = await (await agent()).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(verdict.healthChecks?.find((r) => !r.ok)?.error?.message).toMatch(/TLS handshake/);
    source.refreshError = undefined;
    expect(boots.at(-1)).toMatchObject({ booted: 'A' });
    expect((await (await agent()).resume()).outcome).toBe('rolledBack');
  });
});

describe('UpdateAgent: policy refusals happen before any byte is written', () => {
  const cases: Array<[string, Record<string, unknown>, string, Record<string, unknown>?]> = [
    [
      'another board',
      { hardwareIds: ['board-2'], version: '2.0.0', releaseCounter: 2 },
      'ERR_TUF_INCOMPATIBLE_TARGET',
    ],
    ['no hardwareIds', { version: '2.0.0', releaseCounter: 2 }, 'ERR_TUF_INCOMPATIBLE_TARGET'],
    [
      'a lower releaseCounter',
      { hardwareIds: ['board-1'], version: '9.0.0', releaseCounter: 4 },
      'ERR_TUF_DOWNGRADE',
    ],
    [
      'a lower version',
      { hardwareIds: ['board-1'], version: '1.9.0', releaseCounter: 5 },
      'ERR_TUF_DOWNGRADE',
    ],
    [
      'no releaseCounter below a floor',
      { hardwareIds: ['board-1'], version: '3.0.0' },
      'ERR_TUF_DOWNGRADE',
    ],
  ];
  for (const [what, custom, code] of cases) {
    it(`refuses ${what} (${code}) with slot, environment and journal untouched`, async () => {
      const store = await FsJournalStore.create(dev.stateDir);
      await store.writeInstalled({
        slot: 'A',
        floors: { version: '2.0.0', releaseCounter: 5 },
        updatedAt: '2024-01-01T00:00:00.000Z',
      });
      source.add(targetOf('fw.img', V2, custom), V2);
      const env = await envText();
      const b = await slotHash('B');
      await expect((await agent()).checkAndInstall('fw.img')).rejects.toMatchObject({ code });
      expect(await envText()).toBe(env);
      expect(await slotHash('B')).toBe(b);
      expect(await store.readJournal()).toBeUndefined();
      expect(source.opens).toEqual([]);
      expect(reports.at(-1)).toMatchObject({
        phase: 'refused',
        result: 'failure',
        error: { code },
      });
    });
  }

  it('installs a downgrade only with unsafeAllowDowngrade', async () => {
    const store = await FsJournalStore.create(dev.stateDir);
    await store.writeInstalled({
      slot: 'A',
      floors: { releaseCounter: 5 },
      updatedAt: '2024-01-01T00:00:00.000Z',
    });
    source.add(targetOf('fw.img', V2, { hardwareIds: ['board-1'], releaseCounter: 3 }), V2);
    const result = await (await agent({ policy: { unsafeAllowDowngrade: true } })).checkAndInstall(
      'fw.img',
    );
    expect(result.outcome).toBe('rebooting');
    expect((await (await agent()).resume()).outcome).toBe('committed');
    // The floor never goes down.
    expect((await store.readInstalled())?.floors.releaseCounter).toBe(5);
  });
});

describe('UpdateAgent: bad images never get activated', () => {
  it('refuses a tampered image before activation; the slot stays invalid and A still boots', async () => {
    source.add(targetOf('fw.img', V2), V2);
    source.tamper = (d) => {
      const copy = Buffer.from(d);
      copy[700_000] = (copy[700_000] as number) ^ 1;
      return copy;
    };
    const env = JSON.parse(await envText());
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    const after = JSON.parse(await envText());
    expect(after).toEqual(env); // boot_part A, no trial: B is not bootable
    expect(source.opens).toHaveLength(1); // a full transfer that fails is not retried
    const status = await dev.slots.status();
    expect(status.slots.B.bootable).toBe(false);
    expect(boots).toEqual([]);
    expect((await dev.sim.simulateBoot()).booted).toBe('A');
    const state = await (await agent()).state();
    expect(state.journal).toMatchObject({
      phase: 'failed',
      error: { code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH' },
    });
    expect(reports.at(-1)).toMatchObject({ phase: 'failed', result: 'failure' });
    expect(reports.at(-1)?.logTail?.length).toBeGreaterThan(0);
  });

  it('stops an over-long stream at the trusted length', async () => {
    source.add(targetOf('fw.img', V2), V2);
    source.tamper = (d) => Buffer.concat([d, Buffer.alloc(500_000, 7)]);
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    const size = (await fs.stat(dev.rig.slotDevices.B)).size;
    expect(size).toBeLessThanOrEqual(V2.byteLength);
    expect((await dev.slots.status()).nextBoot).toBe('A');
  });

  it('rolls back when the new slot does not boot (the bootloader falls back)', async () => {
    source.add(targetOf('fw.img', V2), V2);
    const a = await agent({
      reboot: async () => {
        // A bootloader that cannot boot B (e.g. a kernel that panics).
        const { BootSimulator } = await import('../../src/device/slots/index.js');
        boots.push(
          await new BootSimulator(dev.slots, { isBootable: (s) => s === 'A' }).simulateBoot(),
        );
      },
    });
    await a.checkAndInstall('fw.img');
    expect(boots[0]).toMatchObject({ booted: 'A', fellBack: true });
    const verdict = await (await agent()).resume();
    expect(verdict).toMatchObject({
      outcome: 'rolledBack',
      error: { code: 'ERR_TUF_SLOT_FALLBACK' },
    });
    expect((await (await agent()).state()).installed).toBeUndefined();
  });
});

describe('UpdateAgent: the booted slot is never written', () => {
  it('refuses when the controller offers the booted slot as the update target', async () => {
    source.add(targetOf('fw.img', V2), V2);
    const a = await agent({ slots: wrapSlots(dev.slots, { updateTarget: async () => 'A' }) });
    const before = await slotHash('A');
    await expect(a.checkAndInstall('fw.img')).rejects.toMatchObject({
      code: 'ERR_TUF_SLOT_BOOTED',
    });
    expect(await slotHash('A')).toBe(before);
    expect(source.opens).toEqual([]);
  });
});

describe('UpdateAgent: interrupted downloads resume', () => {
  it('resumes from the journaled offset with a range request', async () => {
    source.add(targetOf('fw.img', V2), V2);
    source.failAfterBytes = 600_000;
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD',
    });
    const store = await FsJournalStore.create(dev.stateDir);
    const journal = await store.readJournal();
    expect(journal?.phase).toBe('writing');
    // Checkpoints are whole blocks that were synced before the journal recorded them.
    expect(journal?.bytesVerified).toBe(512 * 1024);
    const verdict = await (await agent()).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(source.opens.map((o) => o.offset)).toEqual([0, 512 * 1024]);
    expect(verdict.install?.write).toMatchObject({ resumedFrom: 512 * 1024, restarted: false });
    expect(verdict.install?.write?.bytesReceived).toBe(V2.byteLength - 512 * 1024);
    expect(await slotHash('B', V2.byteLength)).toBe(sha256(V2));
    expect((await (await agent()).resume()).outcome).toBe('committed');
  });

  it('a resume aborted by its signal (SIGTERM) is pending; the journal keeps its offset for the next start', async () => {
    source.add(targetOf('fw.img', V2), V2);
    source.failAfterBytes = 600_000;
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toThrow();
    const controller = new AbortController();
    source.chunkSize = 64 * 1024;
    // Stop the continued transfer after its first chunk arrives.
    const open = source.openTarget.bind(source);
    source.openTarget = async (info, options) => {
      const opened = await open(info, options);
      const inner = opened.stream;
      async function* body() {
        for await (const chunk of inner) {
          yield chunk;
          controller.abort();
        }
      }
      return { offset: opened.offset, stream: body() };
    };
    const verdict = await (await agent()).resume({ signal: controller.signal });
    expect(verdict.outcome).toBe('pending');
    const journal = await (await FsJournalStore.create(dev.stateDir)).readJournal();
    expect(journal).toMatchObject({ phase: 'writing' });
    expect(journal?.bytesVerified).toBeGreaterThanOrEqual(512 * 1024);
    source.openTarget = open;
    expect((await (await agent()).resume()).outcome).toBe('rebooting');
    expect(await slotHash('B', V2.byteLength)).toBe(sha256(V2));
  });

  it('restarts from byte 0 when the server ignores the range (200), skipping blocks already there', async () => {
    source.add(targetOf('fw.img', V2), V2);
    source.failAfterBytes = 600_000;
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toThrow();
    source.ignoreOffset = true;
    const verdict = await (await agent()).resume();
    expect(verdict.install?.write).toMatchObject({ resumedFrom: 0, restarted: true });
    expect(verdict.install?.write?.bytesSkipped).toBeGreaterThanOrEqual(512 * 1024);
    expect(verdict.install?.write?.bytesReceived).toBe(V2.byteLength);
    expect((await (await agent()).resume()).outcome).toBe('committed');
    expect(await slotHash('B')).toBe(sha256(V2));
  });

  it('starts over when the slot prefix no longer matches (corrupted after the checkpoint)', async () => {
    source.add(targetOf('fw.img', V2), V2);
    source.failAfterBytes = 600_000;
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toThrow();
    const handle = await fs.open(dev.rig.slotDevices.B, 'r+');
    await handle.write(Buffer.from('garbage'), 0, 7, 100_000);
    await handle.close();
    const verdict = await (await agent()).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(source.opens.map((o) => o.offset)).toEqual([0, 512 * 1024, 0]);
    expect(await slotHash('B')).toBe(sha256(V2));
  });
});

describe('UpdateAgent: identical blocks are not rewritten', () => {
  it('skips every block when re-installing an image the slot already holds', async () => {
    source.add(targetOf('fw.img', V2), V2);
    const failing: HealthCheck = {
      name: 'app',
      run: async () => Promise.reject(new Error('app crashed')),
    };
    await (await agent()).checkAndInstall('fw.img');
    expect((await (await agent({ healthChecks: [failing] })).resume()).outcome).toBe('rebooting');
    expect((await (await agent()).resume()).outcome).toBe('rolledBack');
    // B still holds the image (rejected, not erased): a second attempt writes nothing.
    const retry = await (await agent()).checkAndInstall('fw.img');
    expect(retry.write).toMatchObject({ bytesWritten: 0, bytesSkipped: V2.byteLength });
  });

  it('writes only the blocks that differ', async () => {
    source.add(targetOf('fw.img', V2), V2);
    const failing: HealthCheck = { name: 'app', run: async () => Promise.reject(new Error('no')) };
    await (await agent()).checkAndInstall('fw.img');
    await (await agent({ healthChecks: [failing] })).resume();
    await (await agent()).resume();
    const v3 = Buffer.from(V2);
    v3[200_000] = (v3[200_000] as number) ^ 0xff; // block 3 (64 KiB blocks)
    source.add(
      targetOf('fw3.img', v3, { hardwareIds: ['board-1'], version: '3.0.0', releaseCounter: 3 }),
      v3,
    );
    const result = await (await agent()).checkAndInstall('fw3.img');
    expect(result.write).toMatchObject({
      bytesWritten: 64 * 1024,
      bytesSkipped: V2.byteLength - 64 * 1024,
    });
  });
});

describe('UpdateAgent: health checks decide', () => {
  it('rolls back on a failing check and keeps the floors', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent()).checkAndInstall('fw.img');
    const failing: HealthCheck = {
      name: 'app',
      run: async () => Promise.reject(new Error('app crashed')),
    };
    const verdict = await (await agent({ healthChecks: [failing] })).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(boots.at(-1)).toMatchObject({ booted: 'A' });
    const journal = (await (await agent()).state()).journal;
    expect(journal).toMatchObject({
      phase: 'verifying',
      rejected: true,
      error: { code: 'ERR_TUF_HEALTH_CHECK' },
    });
    const final = await (await agent()).resume();
    expect(final).toMatchObject({ outcome: 'rolledBack', error: { code: 'ERR_TUF_HEALTH_CHECK' } });
    expect((await (await agent()).state()).installed).toBeUndefined();
    expect(await dev.slots.status()).toMatchObject({
      booted: 'A',
      nextBoot: 'A',
      trialPending: false,
    });
    expect(reports.at(-1)).toMatchObject({ phase: 'rolledBack', result: 'failure' });
  });

  it('publishes which checks failed on the trial boot, and why', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent()).checkAndInstall('fw.img');
    source.refreshError = Object.assign(new Error('certificate has expired'), {
      code: 'ERR_TUF_DOWNLOAD',
    });
    const events: Array<Record<string, unknown>> = [];
    const onStep = (m: unknown) => events.push(m as Record<string, unknown>);
    subscribe(DEVICE_CHANNELS.step, onStep);
    try {
      const checks: HealthCheck[] = [
        { name: 'app', run: async () => Promise.reject(new Error('app crashed')) },
        { name: 'disk', run: async () => {} },
      ];
      expect((await (await agent({ healthChecks: checks })).resume()).outcome).toBe('rebooting');
    } finally {
      unsubscribe(DEVICE_CHANNELS.step, onStep);
    }
    expect(events.find((e) => e.step === 'health-checked')).toEqual({
      step: 'health-checked',
      boot: 'trial',
      slot: 'B',
      ok: false,
      failed: [
        { name: 'app', code: 'ERR_TUF_HEALTH_CHECK', message: 'app: app crashed' },
        {
          name: 'update server (TUF refresh)',
          code: 'ERR_TUF_DOWNLOAD',
          message: 'update server (TUF refresh): certificate has expired',
        },
      ],
    });
  });

  it('refuses a health check with an unknown `when` at creation', async () => {
    const check = { name: 'app', when: 'sometimes', run: async () => {} } as unknown as HealthCheck;
    await expect(agent({ healthChecks: [check] })).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
      message: expect.stringMatching(/app: when must be/),
    });
  });

  it('rolls back when a check times out', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent()).checkAndInstall('fw.img');
    const hangs: HealthCheck = { name: 'hangs', timeoutMs: 50, run: () => new Promise(() => {}) };
    const verdict = await (await agent({ healthChecks: [hangs] })).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(verdict.healthChecks?.[0]?.error?.message).toMatch(/did not finish within 50 ms/);
    expect((await (await agent()).resume()).outcome).toBe('rolledBack');
  });

  it('re-rejects after a crash between the rejection record and the reboot', async () => {
    source.add(targetOf('fw.img', V2, { hardwareIds: ['board-1'], version: '2.0.0' }), V2);
    await (await agent({ tries: 3 })).checkAndInstall('fw.img');
    const failing: HealthCheck = { name: 'app', run: async () => Promise.reject(new Error('no')) };
    // The process dies before the reboot happens and restarts, still running B.
    await (await agent({ healthChecks: [failing], reboot: async () => {} })).resume();
    const again = await (await agent()).resume();
    expect(again.outcome).toBe('rebooting'); // no new health checks: the decision stands
    expect(again.healthChecks).toBeUndefined();
    expect(boots.at(-1)).toMatchObject({ booted: 'A' });
    expect((await (await agent()).resume()).outcome).toBe('rolledBack');
  });

  it('confirms every healthy boot when the controller needs it', async () => {
    let confirms = 0;
    const slots = wrapSlots(dev.slots, {
      capabilities: () => ({ ...dev.slots.capabilities(), confirmEveryBoot: true }),
      confirmBooted: async () => {
        confirms++;
        await dev.slots.confirmBooted();
      },
    });
    const ok = await (await agent({ slots })).resume();
    expect(ok.outcome).toBe('idle');
    expect(confirms).toBe(1);
    // Offline: still confirmed (local checks decide a normal boot); the network is a warning.
    source.refreshError = new Error('offline');
    const offline = await (await agent({ slots })).resume();
    expect(offline).toMatchObject({ outcome: 'idle', warnings: [{ ok: false }] });
    expect(offline.error).toBeUndefined();
    expect(confirms).toBe(2);
    expect(reports.at(-1)).toMatchObject({ phase: 'boot', result: 'warning' });
    // A failing local check leaves the slot unconfirmed.
    const failing: HealthCheck = { name: 'app', run: async () => Promise.reject(new Error('no')) };
    const bad = await (await agent({ slots, healthChecks: [failing] })).resume();
    expect(bad.error?.code).toBe('ERR_TUF_HEALTH_CHECK');
    expect(confirms).toBe(2);
  });
});

describe('UpdateAgent: crashes around the commit point', () => {
  it('reboots again when it died after activation but before rebooting', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent({ reboot: async () => {} })).checkAndInstall('fw.img');
    expect((await dev.slots.status()).nextBoot).toBe('B');
    const verdict = await (await agent()).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(boots.at(-1)).toMatchObject({ booted: 'B' });
    expect((await (await agent()).resume()).outcome).toBe('committed');
  });

  it('re-verifies and activates a journal left at written', async () => {
    source.add(targetOf('fw.img', V2), V2);
    // Die right after the journal says written.
    const a = await agent({
      slots: wrapSlots(dev.slots, {
        activateTrial: async () => {
          throw new Error('power cut');
        },
      }),
    });
    await expect(a.checkAndInstall('fw.img')).rejects.toThrow('power cut');
    expect((await (await agent()).state()).journal?.phase).toBe('written');
    const verdict = await (await agent()).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(source.opens).toHaveLength(1); // nothing downloaded again
    expect((await (await agent()).resume()).outcome).toBe('committed');
  });
});

describe('UpdateAgent: a corrupt journal', () => {
  it('is a StorageError for install and a safe conclusion for resume: a pending trial is cancelled', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent({ reboot: async () => {} })).checkAndInstall('fw.img');
    expect((await dev.slots.status()).nextBoot).toBe('B');
    const journalPath = path.join(dev.stateDir, 'journal.json');
    const text = await fs.readFile(journalPath, 'utf8');
    await fs.writeFile(journalPath, text.slice(0, text.length / 2));
    const store = await FsJournalStore.create(dev.stateDir);
    await expect(store.readJournal()).rejects.toMatchObject({ code: 'ERR_TUF_STORAGE' });
    await expect((await agent()).checkAndInstall('fw.img')).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
    const verdict = await (await agent()).resume();
    expect(verdict).toMatchObject({ outcome: 'recovered', error: { code: 'ERR_TUF_STORAGE' } });
    expect((await dev.slots.status()).nextBoot).toBe('A'); // never activate on a corrupt journal
    expect(await store.readJournal()).toBeUndefined();
    expect(await fs.readdir(dev.stateDir)).toContain('journal.json.corrupt-1');
    expect((await dev.sim.simulateBoot()).booted).toBe('A');
  });

  it('rejects an unaccounted trial it is running', async () => {
    source.add(targetOf('fw.img', V2), V2);
    await (await agent()).checkAndInstall('fw.img'); // booted B, on trial
    await fs.writeFile(path.join(dev.stateDir, 'journal.json'), '{"format":"tufota-journal-v1"}');
    const verdict = await (await agent({ tries: 1 })).resume();
    expect(verdict.outcome).toBe('rebooting');
    expect(boots.at(-1)).toMatchObject({ booted: 'A' });
    expect((await (await agent()).resume()).outcome).toBe('idle');
  });
});
