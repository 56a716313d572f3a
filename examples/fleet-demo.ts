/**
 * `npm run demo:fleet`: a fleet of 200 simulated devices and one fleet server, on one machine.
 *
 * The real fleet server (SQLite store, director, rollout engine, admin API) runs on 127.0.0.1;
 * each simulated device runs the real fleet-mode agent daemon (Uptane primary, A/B install on
 * file-backed slots, trial health checks, phase reports, signed manifests) with a simulated
 * bootloader. As an operator would, the demo makes three groups, rolls a good release out to one
 * of them in phases (canary, half, the rest) until every compatible device runs it, then rolls a
 * release whose application crashes out to another and watches it pause itself after the canary
 * phase, the failed devices rolled back by their agents and listed with their reasons.
 *
 * Options: `--devices N` (default 200), `--keep` (leave the scratch directory and keep the
 * server running so the dashboard at /ui/ can be looked at; Ctrl-C ends it). Exits 0 only if
 * every expectation held.
 *
 * @module
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FleetSimulation, runRolloutScenario, SIMULATION_RELEASES } from 'tufota/testing/fleet';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<boolean> {
  const devices = Number(argValue('--devices') ?? 200);
  const keep = process.argv.includes('--keep');
  const dir = await mkdtemp(path.join(tmpdir(), 'tufota-fleet-demo-'));
  const onInterrupt = (): void => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  say(`tufota fleet demo: ${devices} simulated devices, scratch directory ${dir}`);
  const started = Date.now();
  const sim = await FleetSimulation.create({ dir, devices, log: say });
  let passed = false;
  try {
    const report = await runRolloutScenario(sim, { log: say });
    const checks: [string, boolean][] = [];
    const compatible = report.groups.bergen?.filter(
      (id) => sim.devices.find((d) => d.deviceId === id)?.hardwareId === 'gw-200',
    );
    checks.push([
      `every compatible bergen device runs ${SIMULATION_RELEASES.good} (${compatible?.length})`,
      compatible !== undefined &&
        compatible.length > 0 &&
        compatible.every((id) => report.installed[id] === SIMULATION_RELEASES.good),
    ]);
    checks.push([
      `incompatible gw-100 devices listed, not skipped silently (${report.good.incompatible.length})`,
      report.good.incompatible.length ===
        (report.groups.bergen?.length ?? 0) - (compatible?.length ?? 0),
    ]);
    const badDevices = Object.keys(report.bad.deployment.devices);
    checks.push([
      `the bad release paused itself after the canary phase (${report.bad.deployment.statusReason ?? ''})`,
      report.bad.deployment.status === 'paused' &&
        report.bad.deployment.phase === 0 &&
        badDevices.length === 10,
    ]);
    checks.push([
      `its failed devices were rolled back and listed (${report.bad.failures.length})`,
      report.bad.failures.length > 0 &&
        report.bad.failures.every(
          (f) =>
            f.state === 'rolledBack' &&
            report.installed[f.deviceId] === SIMULATION_RELEASES.factory,
        ),
    ]);
    const lab = sim.devices.filter((d) => d.site === 'lab');
    checks.push([
      `with consent, the lab devices that agreed run ${SIMULATION_RELEASES.good} and those that declined wait, untouched (${lab.filter((d) => d.consents).length} / ${lab.filter((d) => !d.consents).length})`,
      lab.every((d) =>
        d.consents
          ? report.installed[d.deviceId] === SIMULATION_RELEASES.good
          : report.installed[d.deviceId] === SIMULATION_RELEASES.factory &&
            report.consent.deployment.devices[d.deviceId]?.state === 'pending',
      ),
    ]);
    say('');
    say('Failed devices of the bad release:');
    for (const f of report.bad.failures)
      say(`  ${f.deviceId}: ${f.state}, ${f.reason} (logs: ${f.logs})`);
    say('');
    say('Versions in the field:');
    for (const v of report.overview.versions) say(`  ${v.targetPath}: ${v.devices} devices`);
    say('');
    for (const [what, held] of checks) say(`${held ? 'ok  ' : 'FAIL'} ${what}`);
    passed = checks.every(([, held]) => held);
    say(
      `${passed ? 'demo passed' : 'demo FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s (first contact ${report.seconds.firstContact.toFixed(1)} s, good rollout ${report.seconds.good.toFixed(1)} s, bad rollout ${report.seconds.bad.toFixed(1)} s, consent rollout ${report.seconds.consent.toFixed(1)} s)`,
    );
    if (keep) {
      say(
        `dashboard: ${sim.server.url}/ui/ (log in with an API token: ${sim.adminToken}); Ctrl-C ends`,
      );
      await new Promise(() => {});
    }
  } finally {
    await sim.close();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
  return passed;
}

main().then(
  (passed) => process.exit(passed ? 0 : 1),
  (error: Error) => {
    process.stderr.write(`fleet demo failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
