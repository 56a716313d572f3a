/**
 * Issue 15's acceptance simulation: 200 simulated devices (the real fleet-mode agent daemon on
 * file-backed A/B slots, a simulated bootloader) in 3 groups against the real fleet server with
 * SQLite. A phased rollout reaches every compatible device and lists the incompatible ones; a
 * release whose application crashes pauses itself after the canary phase, its devices rolled
 * back by their agents and listed with their reasons; nobody beyond the canary is touched.
 *
 * Also: `npm run demo:fleet` (the same scenario, compiled, smaller) exits 0 with its verdicts.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FleetSimulation,
  type RolloutScenarioReport,
  runRolloutScenario,
  SIMULATION_RELEASES,
} from '../../src/testing/fleet.js';
import { buildOnce, ROOT } from '../cli/helpers.js';

describe('a simulated fleet of 200 devices', () => {
  let dir: string;
  let sim: FleetSimulation;
  let report: RolloutScenarioReport;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-fleet-sim-'));
    sim = await FleetSimulation.create({ dir, devices: 200 });
    report = await runRolloutScenario(sim, { timeoutMs: 240_000 });
  }, 600_000);
  afterAll(async () => {
    await sim?.close();
    if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  const ids = (pred: (d: FleetSimulation['devices'][number]) => boolean) =>
    sim.devices.filter(pred).map((d) => d.deviceId);

  it('puts the devices in 3 groups, two dynamic (saved queries) and one static', () => {
    expect(report.groups.oslo?.sort()).toEqual(ids((d) => d.site === 'oslo').sort());
    expect(report.groups.bergen?.sort()).toEqual(ids((d) => d.site === 'bergen').sort());
    expect(report.groups.lab?.sort()).toEqual(ids((d) => d.site === 'lab').sort());
    expect(report.groups.oslo).toHaveLength(90);
    expect(report.groups.bergen).toHaveLength(70);
    expect(report.groups.lab).toHaveLength(40);
  });

  it('the phased rollout reaches every compatible device of its group, each assigned once', async () => {
    const compatible = ids((d) => d.site === 'bergen' && d.hardwareId === 'gw-200');
    expect(compatible).toHaveLength(60);
    expect(report.good.deployment.status).toBe('completed');
    expect(report.good.summary).toMatchObject({ succeeded: 60, failed: 0, rolledBack: 0 });
    for (const id of compatible) {
      expect(report.installed[id], id).toBe(SIMULATION_RELEASES.good);
      expect(report.good.deployment.devices[id]).toMatchObject({ state: 'succeeded', attempts: 1 });
      // The device itself runs it: its bootloader boots slot B, which holds the release.
      expect(sim.devices.find((d) => d.deviceId === id)?.booted).toBe('B');
    }
    // Phases: 5 canary devices first, then the rest in two more phases.
    const byPhase = [0, 1, 2].map(
      (p) => Object.values(report.good.deployment.devices).filter((d) => d.phase === p).length,
    );
    expect(byPhase[0]).toBe(5);
    expect(byPhase.reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('lists the incompatible devices with the reason instead of skipping them silently', () => {
    const legacy = ids((d) => d.site === 'bergen' && d.hardwareId === 'gw-100');
    expect(legacy).toHaveLength(10);
    expect(report.good.incompatible.map((x) => x.deviceId).sort()).toEqual(legacy.sort());
    for (const x of report.good.incompatible) expect(x.reason).toContain('gw-100');
    for (const id of legacy) expect(report.installed[id]).toBe(SIMULATION_RELEASES.legacy);
  });

  it('a bad release pauses itself after the canary phase; the failed devices are rolled back and listed', async () => {
    const bad = report.bad;
    expect(bad.deployment.status).toBe('paused');
    expect(bad.deployment.phase).toBe(0);
    expect(bad.deployment.statusReason).toMatch(/phase 1: \d+ of 10 devices failed or rolled back/);
    const canary = Object.keys(bad.deployment.devices);
    expect(canary).toHaveLength(10);
    expect(bad.failures.map((f) => f.deviceId).sort()).toEqual(canary.sort());
    for (const f of bad.failures) {
      expect(f.state).toBe('rolledBack');
      expect(f.reason).toContain('application');
      expect(report.installed[f.deviceId]).toBe(SIMULATION_RELEASES.factory);
      expect(sim.devices.find((d) => d.deviceId === f.deviceId)?.booted).toBe('A');
    }
    // The log link of a failure leads to the device's log tail for this deployment.
    const first = bad.failures[0] as (typeof bad.failures)[number];
    const logs = await sim.admin('GET', first.logs.replace('/api/admin/v1/', ''));
    expect(logs.status).toBe(200);
    expect(JSON.stringify(logs.json)).toContain('health');
  });

  it('touches nobody beyond the canary: the rest of oslo runs the factory image, never assigned', async () => {
    const canary = new Set(Object.keys(report.bad.deployment.devices));
    const untouched = ids((d) => d.site === 'oslo' && !canary.has(d.deviceId));
    expect(untouched).toHaveLength(80);
    for (const id of untouched) expect(report.installed[id], id).toBe(SIMULATION_RELEASES.factory);
    const sample = untouched.filter((_, i) => i % 8 === 0);
    for (const id of sample) {
      const events = await sim.admin('GET', `devices/${id}/events?limit=1000`);
      expect(
        events.json.items.some((e: { kind: string }) => e.kind === 'assignment'),
        id,
      ).toBe(false);
    }
  });

  it('with updateControl consent, devices whose user agrees install; those that decline are asked, wait pending and keep their image', () => {
    const lab = sim.devices.filter((d) => d.site === 'lab');
    const agree = lab.filter((d) => d.consents);
    const decline = lab.filter((d) => !d.consents);
    expect(agree).toHaveLength(20);
    expect(decline).toHaveLength(20);
    for (const d of agree) {
      expect(report.installed[d.deviceId], d.deviceId).toBe(SIMULATION_RELEASES.good);
      expect(report.consent.deployment.devices[d.deviceId]?.state).toBe('succeeded');
      expect(d.consentAsked).toBeGreaterThan(0);
      expect(d.booted).toBe('B');
    }
    for (const d of decline) {
      expect(report.installed[d.deviceId], d.deviceId).toBe(SIMULATION_RELEASES.factory);
      expect(report.consent.deployment.devices[d.deviceId]).toMatchObject({ state: 'pending' });
      expect(report.consent.deployment.devices[d.deviceId]?.reason).toContain('consent');
      expect(d.consentAsked).toBeGreaterThan(0);
      expect(d.booted).toBe('A');
    }
    // Declining is not failing: the deployment keeps running, nothing counts as failed.
    expect(report.consent.deployment.status).toBe('running');
    expect(report.consent.summary).toMatchObject({ failed: 0, rolledBack: 0 });
    // Devices that were never asked for consent (forced deployments) were never asked.
    for (const d of sim.devices.filter((x) => x.site !== 'lab')) expect(d.consentAsked).toBe(0);
  });

  it('the fleet overview counts the versions in the field', () => {
    const versions = Object.fromEntries(
      report.overview.versions.map((v) => [v.targetPath, v.devices]),
    );
    expect(versions).toEqual({
      [SIMULATION_RELEASES.factory]: 110,
      [SIMULATION_RELEASES.good]: 80,
      [SIMULATION_RELEASES.legacy]: 10,
    });
  });
});

describe('npm run demo:fleet', () => {
  it('runs the scenario from its compiled form and exits 0 with every verdict ok', async () => {
    await buildOnce();
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'dist', 'examples', 'fleet-demo.js'), '--devices', '24'],
        { cwd: ROOT, env: { PATH: process.env.PATH }, timeout: 240_000 },
        (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
            stdout,
            stderr,
          }),
      );
    });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('demo passed');
    expect(run.stdout).not.toContain('FAIL');
    expect(run.stdout.match(/^ok {3}/gm)).toHaveLength(5);
  }, 300_000);
});
