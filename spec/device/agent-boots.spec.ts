/**
 * UpdateAgent across the boots AFTER an update: a trial boot (all checks, the update server
 * included) versus normal boots of the committed slot (local checks only; the network is never a
 * reason to lose a committed release), and fallbacks the agent did not order (`fellBack`). Run
 * over the real bootloader tools — `grub-editenv` (GRUB, RAUC layout) and `fw_setenv` (U-Boot,
 * RAUC layout), both profiles that count attempts at every boot — and over file slots (Mender
 * layout, which does not).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpdateAgent, type UpdateAgentOptions } from '../../src/device/agent.js';
import type { HealthCheck } from '../../src/device/health-checks.js';
import { DEVICE_CHANNELS, type ReportEvent } from '../../src/device/reporter.js';
import type { SlotController } from '../../src/device/slot-controller.js';
import { runTool } from '../../src/device/slots/exec.js';
import {
  BootSimulator,
  FileSlotController,
  GrubEnvSlotController,
  imageStartsWith,
  UbootEnvSlotController,
} from '../../src/device/slots/index.js';
import { DownloadError } from '../../src/errors.js';
import { FsJournalStore } from '../../src/storage/fs-journal-store.js';
import { systemTools } from '../helpers/system-tools.js';
import { MemorySource, makeImage, sha256, TUNING, targetOf } from './agent-helpers.js';
import { evidenceOf, flipBytes, GOOD_IMAGE, makeRig, type Rig } from './slots/helpers.js';

const grubTools = systemTools('spec/device/agent-boots.spec.ts', ['grub-editenv']);
const ubootTools = systemTools('spec/device/agent-boots.spec.ts', [
  'fw_setenv',
  'fw_printenv',
  'mkenvimage',
]);

const V1 = makeImage(200_000, 1);
const V2 = makeImage(300_000, 2);
const V3 = makeImage(250_000, 3);
const OFFLINE = () => new DownloadError('connect ECONNREFUSED 127.0.0.1:443 (simulated)');

let rig: Rig;
let source: MemorySource;
let reports: ReportEvent[];
let stateDir: string;
let slots: SlotController;
let sim: BootSimulator;

beforeEach(async () => {
  rig = await makeRig('A');
  await fs.writeFile(rig.slotDevices.A, V1); // the factory image: unknown to the agent
  stateDir = path.join(rig.dir, 'state');
  source = new MemorySource();
  source.add(targetOf('fw-2.img', V2), V2);
  source.add(
    targetOf('fw-3.img', V3, { hardwareIds: ['board-1'], version: '3.0.0', releaseCounter: 3 }),
    V3,
  );
  reports = [];
});
afterEach(() => rig.cleanup());

/**
 * An agent as a fresh process builds it on each boot. Over a store, not `stateDir`: earlier
 * "processes" are abandoned, not closed, so they would still hold the state-directory lock.
 */
async function agent(extra: Partial<UpdateAgentOptions> = {}): Promise<UpdateAgent> {
  return UpdateAgent.create({
    slots,
    updater: source,
    hardwareId: 'board-1',
    journalStore: await FsJournalStore.create(stateDir),
    reporter: { report: async (e) => void reports.push(e) },
    reboot: async () => void (await sim.simulateBoot()),
    tuning: TUNING,
    ...extra,
  });
}

/** Power on (the bootloader runs), then the agent's resume() as the service runs it. */
async function powerOn(extra: Partial<UpdateAgentOptions> = {}) {
  const boot = await sim.simulateBoot();
  const resumed = await (await agent(extra)).resume();
  return { boot, resumed };
}

/** Install `targetPath` and conclude its trial boot: committed. */
async function commit(targetPath: string): Promise<void> {
  expect((await (await agent()).checkAndInstall(targetPath)).outcome).toBe('rebooting');
  expect((await (await agent()).resume()).outcome).toBe('committed');
}

async function installed() {
  return (await FsJournalStore.create(stateDir)).readInstalled();
}

const failingLocal = (name = 'app'): HealthCheck => ({
  name,
  run: async () => Promise.reject(new Error(`${name} does not start`)),
});

async function grubenv(file: string): Promise<Record<string, string>> {
  const { stdout } = await runTool('grub-editenv', [file, 'list']);
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe.skipIf(grubTools.skip)(
  'GRUB (RAUC layout, real grub-editenv): one try, confirmed at every boot',
  () => {
    let grubenvPath: string;
    beforeEach(async () => {
      grubenvPath = path.join(rig.dir, 'grubenv');
      await runTool('grub-editenv', [grubenvPath, 'create']);
      await runTool('grub-editenv', [
        grubenvPath,
        'set',
        'ORDER=A B',
        'A_OK=1',
        'A_TRY=0',
        'B_OK=0',
        'B_TRY=0',
      ]);
      const grub = await GrubEnvSlotController.create({
        grubenvPath,
        slotDevices: rig.slotDevices,
        evidence: evidenceOf(rig),
      });
      slots = grub;
      sim = new BootSimulator(grub, { isBootable: imageStartsWith(GOOD_IMAGE) });
    });

    it('boots without network after a commit keep the committed slot: confirmed on local checks, the network reported as a warning', async () => {
      await commit('fw-2.img');
      source.refreshError = OFFLINE();
      let appRuns = 0;
      const app: HealthCheck = { name: 'app', run: async () => void appRuns++ };
      for (let i = 1; i <= 3; i++) {
        const { boot, resumed } = await powerOn({ healthChecks: [app] });
        expect(boot).toMatchObject({ booted: 'B', fellBack: false });
        expect(resumed.outcome).toBe('idle');
        expect(resumed.error).toBeUndefined();
        expect(resumed.healthChecks?.map((r) => [r.name, r.ok])).toEqual([['app', true]]);
        expect(resumed.warnings).toMatchObject([
          { name: 'update server (TUF refresh)', ok: false, error: { code: 'ERR_TUF_DOWNLOAD' } },
        ]);
        expect(await grubenv(grubenvPath)).toMatchObject({ ORDER: 'B A', B_OK: '1', B_TRY: '0' });
        expect(appRuns).toBe(i);
      }
      expect(await installed()).toMatchObject({
        slot: 'B',
        target: { path: 'fw-2.img', version: '2.0.0' },
        floors: { version: '2.0.0', releaseCounter: 2 },
      });
      const boots = reports.filter((r) => r.phase === 'boot');
      expect(boots.filter((r) => r.result === 'success')).toHaveLength(3);
      expect(boots.filter((r) => r.result === 'warning')).toHaveLength(3);
      expect(boots.find((r) => r.result === 'warning')).toMatchObject({
        error: { code: 'ERR_TUF_DOWNLOAD', message: expect.stringMatching(/ECONNREFUSED/) },
      });
      expect(reports.some((r) => r.result === 'failure')).toBe(false);
    });

    it('confirms before it probes the update server: a slow network never delays the confirmation', async () => {
      await commit('fw-2.img');
      let envAtProbe: Record<string, string> | undefined;
      const probing: UpdateAgentOptions['updater'] = {
        refresh: async () => {
          envAtProbe = await grubenv(grubenvPath);
        },
        getTargetInfo: (p) => source.getTargetInfo(p),
        openTarget: (info, o) => source.openTarget(info, o),
      };
      const { resumed } = await powerOn({ updater: probing });
      expect(resumed).toMatchObject({ outcome: 'idle' });
      expect(resumed.warnings).toBeUndefined();
      expect(envAtProbe).toMatchObject({ B_OK: '1', B_TRY: '0' });
    });

    it('a trial boot with the update server unreachable still rolls back', async () => {
      expect((await (await agent()).checkAndInstall('fw-2.img')).outcome).toBe('rebooting');
      source.refreshError = OFFLINE(); // the new image cannot reach the server
      const verdict = await (await agent()).resume();
      expect(verdict.outcome).toBe('rebooting');
      expect(verdict.healthChecks?.find((r) => !r.ok)).toMatchObject({
        name: 'update server (TUF refresh)',
        error: { code: 'ERR_TUF_DOWNLOAD' },
      });
      expect(await slots.bootedSlot()).toBe('A');
      const final = await (await agent()).resume();
      expect(final).toMatchObject({
        outcome: 'rolledBack',
        error: { code: 'ERR_TUF_HEALTH_CHECK' },
      });
      expect(await installed()).toBeUndefined();
      expect(await grubenv(grubenvPath)).toMatchObject({ ORDER: 'A', A_OK: '1', B_OK: '0' });
    });

    it('trial-only checks run on the trial boot, not on normal boots', async () => {
      let migrationChecks = 0;
      const migration: HealthCheck = {
        name: 'data migration ran',
        when: 'trial',
        run: async () => void migrationChecks++,
      };
      expect((await (await agent()).checkAndInstall('fw-2.img')).outcome).toBe('rebooting');
      const verdict = await (await agent({ healthChecks: [migration] })).resume();
      expect(verdict.outcome).toBe('committed');
      expect(migrationChecks).toBe(1);
      const { resumed } = await powerOn({ healthChecks: [migration] });
      expect(resumed.outcome).toBe('idle');
      expect(resumed.healthChecks).toEqual([]);
      expect(migrationChecks).toBe(1);
    });

    it('a failing local check on a normal boot leaves the committed slot unconfirmed (not rejected); the fallback that follows is detected', async () => {
      await commit('fw-2.img');
      const steps: Array<Record<string, unknown>> = [];
      const onStep = (m: unknown) => steps.push(m as Record<string, unknown>);
      subscribe(DEVICE_CHANNELS.step, onStep);
      let first: Awaited<ReturnType<typeof powerOn>>;
      try {
        first = await powerOn({ healthChecks: [failingLocal()] });
      } finally {
        unsubscribe(DEVICE_CHANNELS.step, onStep);
      }
      expect(first.boot.booted).toBe('B');
      expect(first.resumed).toMatchObject({
        outcome: 'idle',
        error: {
          code: 'ERR_TUF_HEALTH_CHECK',
          message: expect.stringMatching(/app does not start/),
        },
      });
      // Not rejected: B keeps OK=1; only GRUB's attempt flag (TRY=1) stands, so GRUB decides.
      expect(await grubenv(grubenvPath)).toMatchObject({ B_OK: '1', B_TRY: '1' });
      expect(steps.find((s) => s.step === 'health-checked')).toMatchObject({
        boot: 'normal',
        ok: false,
        failed: [{ name: 'app', code: 'ERR_TUF_HEALTH_CHECK', message: 'app: app does not start' }],
      });
      expect(steps.some((s) => s.step === 'rejected' || s.step === 'confirmed')).toBe(false);
      expect(reports.at(-1)).toMatchObject({
        phase: 'boot',
        result: 'failure',
        error: { code: 'ERR_TUF_HEALTH_CHECK' },
      });
      expect(reports.at(-1)?.logTail?.join('\n')).toMatch(/left unconfirmed/);

      // GRUB gives up on B at the next power-on: the factory image in A runs again.
      const second = await powerOn();
      expect(second.boot).toMatchObject({ booted: 'A', fellBack: true });
      expect(second.resumed).toMatchObject({
        outcome: 'fellBack',
        error: { code: 'ERR_TUF_UNEXPECTED_FALLBACK', message: expect.stringMatching(/slot B/) },
      });
      const fell = reports.find((r) => r.phase === 'fellBack');
      expect(fell).toMatchObject({
        result: 'failure',
        slot: 'A',
        target: { path: 'fw-2.img' },
        error: { code: 'ERR_TUF_UNEXPECTED_FALLBACK' },
      });
      expect(fell?.installedVersion).toBeUndefined(); // what runs now is not known
      // The installed state says what really runs; the floors did not move.
      const after = await installed();
      expect(after).toMatchObject({ slot: 'A', floors: { version: '2.0.0', releaseCounter: 2 } });
      expect(after?.target).toBeUndefined();
      // A passed its checks and is confirmed: the device settles instead of flapping.
      expect(await grubenv(grubenvPath)).toMatchObject({ ORDER: 'A', A_OK: '1', A_TRY: '0' });
      expect((await powerOn()).resumed.outcome).toBe('idle');

      // The release is not lost: the next check installs it again, as a new trial.
      const again = await (await agent()).checkAndInstall('fw-2.img');
      expect(again).toMatchObject({ outcome: 'rebooting', slot: 'B' });
      expect((await (await agent()).resume()).outcome).toBe('committed');
      expect(await installed()).toMatchObject({ slot: 'B', target: { version: '2.0.0' } });
    });

    it('a rejected trial: the rollback boot confirms the old slot, so the next power-on does not fall to the default entry (found on a real GRUB)', async () => {
      await commit('fw-2.img'); // B
      await powerOn();
      expect((await (await agent()).checkAndInstall('fw-3.img')).outcome).toBe('rebooting');
      // The reboot into A already happened inside the agent (simulated); its trial fails.
      const trial = await (await agent({ healthChecks: [failingLocal()] })).resume();
      expect(trial.outcome).toBe('rebooting'); // rejected, rebooted into B
      expect((await (await agent()).resume()).outcome).toBe('rolledBack');
      expect(await grubenv(grubenvPath)).toMatchObject({ B_OK: '1', B_TRY: '0' });
      // Unconfirmed, B would be "tried" and GRUB would boot entry 0 (slot A, just rejected).
      expect((await sim.simulateBoot()).booted).toBe('B');
    });

    it('a trial whose kernel hangs: after the fallback the agent confirms the old slot (found on a real GRUB)', async () => {
      await commit('fw-2.img'); // B
      await powerOn();
      // Activate release 3 in A without rebooting through the agent: the trial boot "hangs".
      const hanging = await agent({ reboot: async () => {} });
      expect((await hanging.checkAndInstall('fw-3.img')).outcome).toBe('rebooting');
      expect((await sim.simulateBoot()).booted).toBe('A'); // the trial boot; no agent runs
      expect((await sim.simulateBoot()).booted).toBe('B'); // its one try used up
      expect((await (await agent()).resume()).outcome).toBe('rolledBack');
      expect(await grubenv(grubenvPath)).toMatchObject({ B_OK: '1', B_TRY: '0' });
      expect((await sim.simulateBoot()).booted).toBe('B');
    });

    it('after a fallback to a slot holding an earlier committed release, that release is verified by hash and recorded', async () => {
      await commit('fw-2.img'); // B
      await commit('fw-3.img'); // A
      expect(await installed()).toMatchObject({
        slot: 'A',
        floors: { version: '3.0.0', releaseCounter: 3 },
      });
      await powerOn({ healthChecks: [failingLocal()] }); // A left unconfirmed
      const { boot, resumed } = await powerOn();
      expect(boot).toMatchObject({ booted: 'B', fellBack: true });
      expect(resumed.outcome).toBe('fellBack');
      expect(await installed()).toMatchObject({
        slot: 'B',
        target: { path: 'fw-2.img', version: '2.0.0', hashes: { sha256: sha256(V2) } },
        floors: { version: '3.0.0', releaseCounter: 3 },
      });
      expect(reports.find((r) => r.phase === 'fellBack')).toMatchObject({
        installedVersion: '2.0.0',
        target: { path: 'fw-3.img' },
      });
      // Floors unchanged: 2.0.0 is below them, so nothing re-installs it; 3.0.0 is allowed again.
      await expect((await agent()).checkAndInstall('fw-2.img')).rejects.toMatchObject({
        code: 'ERR_TUF_DOWNGRADE',
      });
      expect((await (await agent()).checkAndInstall('fw-3.img')).outcome).toBe('rebooting');
    });

    it('a recorded image whose bytes no longer match is not believed', async () => {
      await commit('fw-2.img'); // B
      await commit('fw-3.img'); // A
      await powerOn({ healthChecks: [failingLocal()] });
      await flipBytes(rig.slotDevices.B, 100_000); // B's bytes changed behind the agent's back
      const { boot, resumed } = await powerOn();
      expect(boot.booted).toBe('B');
      expect(resumed.outcome).toBe('fellBack');
      const after = await installed();
      expect(after).toMatchObject({ slot: 'B', floors: { releaseCounter: 3 } });
      expect(after?.target).toBeUndefined();
      expect(after?.slotImages?.B).toBeUndefined();
      expect(after?.slotImages?.A).toMatchObject({ path: 'fw-3.img' });
    });
  },
);

describe.skipIf(ubootTools.skip)(
  'U-Boot (RAUC layout, real fw_setenv): maxTries attempts, confirmed at every boot',
  () => {
    beforeEach(async () => {
      const envPath = path.join(rig.dir, 'uboot.env');
      const configPath = path.join(rig.dir, 'fw_env.config');
      await UbootEnvSlotController.initEnv({
        envPath,
        configPath,
        variables: { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' },
        size: 0x4000,
        redundant: true,
      });
      const uboot = await UbootEnvSlotController.create({
        configPath,
        profile: 'uboot-rauc',
        slotDevices: rig.slotDevices,
        evidence: evidenceOf(rig),
      });
      slots = uboot;
      sim = new BootSimulator(uboot, { isBootable: imageStartsWith(GOOD_IMAGE) });
    });

    it('more than maxTries boots without network keep the committed slot', async () => {
      await commit('fw-2.img');
      source.refreshError = OFFLINE();
      for (let i = 0; i < 5; i++) {
        const { boot, resumed } = await powerOn();
        expect(boot).toMatchObject({ booted: 'B', fellBack: false });
        expect(resumed.outcome).toBe('idle');
        expect(resumed.warnings?.[0]).toMatchObject({ ok: false });
        expect(await slots.status()).toMatchObject({
          nextBoot: 'B',
          trialPending: false,
          slots: { B: { triesLeft: 3 } },
        });
      }
      expect(await installed()).toMatchObject({ slot: 'B', target: { version: '2.0.0' } });
    });

    it('a committed slot failing its local checks maxTries times falls back, and the agent says so', async () => {
      await commit('fw-2.img');
      for (let i = 0; i < 3; i++) {
        const { boot, resumed } = await powerOn({ healthChecks: [failingLocal()] });
        expect(boot.booted).toBe('B');
        expect(resumed).toMatchObject({ outcome: 'idle', error: { code: 'ERR_TUF_HEALTH_CHECK' } });
      }
      const { boot, resumed } = await powerOn();
      expect(boot).toMatchObject({ booted: 'A', fellBack: true });
      expect(resumed).toMatchObject({
        outcome: 'fellBack',
        error: { code: 'ERR_TUF_UNEXPECTED_FALLBACK' },
      });
      expect(await installed()).toMatchObject({
        slot: 'A',
        floors: { version: '2.0.0', releaseCounter: 2 },
      });
      expect(await slots.status()).toMatchObject({
        booted: 'A',
        nextBoot: 'A',
        trialPending: false,
      });
    });
  },
);

describe('Mender layout (file slots): nothing counts boots of a confirmed slot', () => {
  let envPath: string;
  let confirms: number;
  beforeEach(async () => {
    envPath = path.join(rig.dir, 'env.json');
    await FileSlotController.initEnv({ envPath, bootSlot: 'A' });
    const file = await FileSlotController.create({
      envPath,
      slotDevices: rig.slotDevices,
      evidence: evidenceOf(rig),
    });
    confirms = 0;
    slots = {
      capabilities: () => file.capabilities(),
      status: () => file.status(),
      bootedSlot: () => file.bootedSlot(),
      updateTarget: () => file.updateTarget(),
      slotDevice: (s) => file.slotDevice(s),
      invalidate: (s) => file.invalidate(s),
      activateTrial: (s, o) => file.activateTrial(s, o),
      cancelTrial: () => file.cancelTrial(),
      confirmBooted: async () => {
        confirms++;
        await file.confirmBooted();
      },
      rejectBooted: () => file.rejectBooted(),
    };
    sim = new BootSimulator(file, { isBootable: imageStartsWith(GOOD_IMAGE) });
  });

  it('normal boots run no checks and write nothing, online or not', async () => {
    await commit('fw-2.img');
    expect(confirms).toBe(1);
    const env = await fs.readFile(envPath, 'utf8');
    source.refreshError = OFFLINE();
    const refreshes = source.refreshes;
    let appRuns = 0;
    const { boot, resumed } = await powerOn({
      healthChecks: [{ name: 'app', run: async () => void appRuns++ }],
    });
    expect(boot.booted).toBe('B');
    expect(resumed).toEqual({ outcome: 'idle', journal: expect.anything() });
    expect([appRuns, confirms, source.refreshes - refreshes]).toEqual([0, 1, 0]);
    expect(await fs.readFile(envPath, 'utf8')).toBe(env);
  });

  it('detects a boot of the other slot (the environment changed outside the agent) without confirming anything', async () => {
    await commit('fw-2.img');
    // Someone points the bootloader back at A by hand.
    const env = JSON.parse(await fs.readFile(envPath, 'utf8'));
    await fs.writeFile(envPath, JSON.stringify({ ...env, boot_part: 'A' }));
    let appRuns = 0;
    const { boot, resumed } = await powerOn({
      healthChecks: [{ name: 'app', run: async () => void appRuns++ }],
    });
    expect(boot.booted).toBe('A');
    expect(resumed).toMatchObject({
      outcome: 'fellBack',
      error: { code: 'ERR_TUF_UNEXPECTED_FALLBACK' },
    });
    expect(resumed.healthChecks).toBeUndefined();
    expect([appRuns, confirms]).toEqual([0, 1]);
    expect(await installed()).toMatchObject({
      slot: 'A',
      floors: { version: '2.0.0', releaseCounter: 2 },
      slotImages: { B: { path: 'fw-2.img' } },
    });
    expect((await powerOn()).resumed.outcome).toBe('idle'); // reported once
    expect(reports.filter((r) => r.phase === 'fellBack')).toHaveLength(1);
  });
});
