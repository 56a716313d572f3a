/**
 * The rollout scenario of issue 15 on a {@link FleetSimulation}: three groups, a phased rollout
 * of a good release that reaches every compatible device (and lists the incompatible ones), then
 * a bad release that pauses itself after its canary phase with the failed devices rolled back.
 * Everything goes through the admin API, as an operator (or the dashboard) would do it.
 *
 * Shared by the simulation test and `npm run demo:fleet`: the test asserts on the returned
 * report, the demo prints it.
 *
 * @module
 */
import { InvalidStateError } from '../errors.js';
import { FINISHED_STATES, type RolloutDeviceState, type RolloutPolicy } from '../fleet/rollout.js';
import type { AdminAnswer, FleetSimulation } from './fleet-simulation.js';
import { SIMULATION_RELEASES } from './fleet-simulation.js';

/** A deployment's report as `GET /deployments/<id>` answers it. */
export interface DeploymentReport {
  deployment: {
    id: string;
    release: string;
    group: string;
    status: string;
    statusReason?: string;
    phase: number;
    devices: Record<string, { phase: number; state: string; reason?: string; attempts: number }>;
    incompatible: Record<string, string>;
    timeline: { at: string; event: string }[];
  };
  summary: Record<string, number>;
  failures: { deviceId: string; state: string; reason: string | null; logs: string }[];
  incompatible: { deviceId: string; reason: string }[];
}

/** What the scenario saw. */
export interface RolloutScenarioReport {
  /** Group name → member device ids (evaluated by the server). */
  groups: Record<string, string[]>;
  /** The good release to the `bergen` group, after it completed. */
  good: DeploymentReport;
  /** The bad release to the `oslo` group, after it paused itself. */
  bad: DeploymentReport;
  /**
   * The good release to the `lab` group with `updateControl: consent`, once every device that
   * agrees runs it and every device that declines was asked (it stays pending).
   */
  consent: DeploymentReport;
  /** Installed image per device (from the inventory, i.e. from verified manifests) at the end. */
  installed: Record<string, string | undefined>;
  /** `GET /overview` at the end. */
  overview: { versions: { targetPath: string; devices: number }[] };
  /** Seconds each part took. */
  seconds: { firstContact: number; good: number; bad: number; consent: number };
}

function ok(answer: AdminAnswer, what: string): AdminAnswer {
  if (answer.status >= 300) {
    throw new InvalidStateError(
      `${what} failed: HTTP ${answer.status} ${JSON.stringify(answer.json)}`,
    );
  }
  return answer;
}

async function installedMap(sim: FleetSimulation): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  let cursor: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const query = `devices?limit=500${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const answer = ok(await sim.admin('GET', query), 'listing devices');
    for (const d of answer.json.items as {
      deviceId: string;
      ecus: { installedTarget?: string }[];
    }[]) {
      out[d.deviceId] = d.ecus[0]?.installedTarget;
    }
    cursor = answer.json.nextCursor;
    if (cursor === undefined) break;
  }
  return out;
}

async function deployment(sim: FleetSimulation, id: string): Promise<DeploymentReport> {
  return ok(await sim.admin('GET', `deployments/${encodeURIComponent(id)}`), 'reading a deployment')
    .json as DeploymentReport;
}

/** Start a deployment through the admin API; its id. */
async function startDeployment(
  sim: FleetSimulation,
  release: string,
  group: string,
  policy: Omit<RolloutPolicy, 'soakSeconds' | 'maxFailureRate'>,
): Promise<string> {
  const answer = await sim.admin('POST', 'deployments', {
    release,
    group,
    policy: { soakSeconds: 0, maxFailureRate: 0.2, ...policy },
  });
  return ok(answer, `creating a deployment of ${release} to ${group}`).json.id as string;
}

/**
 * Poll deployment `id` until `done` returns the report (or throws), logging its progress every
 * two seconds. Bounded by `timeoutMs`.
 */
function watchDeployment(
  sim: FleetSimulation,
  id: string,
  what: string,
  done: (report: DeploymentReport) => Promise<boolean>,
  options: { timeoutMs: number; log: (line: string) => void },
): Promise<DeploymentReport> {
  return sim.waitFor(
    what,
    async () => {
      const report = await deployment(sim, id);
      return (await done(report)) ? report : undefined;
    },
    {
      timeoutMs: options.timeoutMs,
      progress: () => {
        void deployment(sim, id).then(
          (r) => options.log(`  ${progressLine(r)}`),
          () => {},
        );
      },
    },
  );
}

function progressLine(report: DeploymentReport): string {
  const s = report.summary;
  const parts = Object.entries(s)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${state} ${n}`);
  return `${report.deployment.release} → ${report.deployment.group}: ${report.deployment.status}, phase ${report.deployment.phase + 1}, ${parts.join(', ') || 'no device yet'}`;
}

/**
 * Run the scenario on a created (not yet started) simulation. Bounded: each wait gives up after
 * `timeoutMs` (default 5 minutes) with the devices' last errors.
 */
export async function runRolloutScenario(
  sim: FleetSimulation,
  options: { log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<RolloutScenarioReport> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 300_000;
  const total = sim.devices.length;

  // 1. Power on: every device registers and reports its factory image in a signed manifest.
  let t0 = Date.now();
  sim.start();
  await sim.waitFor(
    'every device reporting its factory image',
    async () => {
      const installed = await installedMap(sim);
      const known = Object.values(installed).filter((x) => x !== undefined).length;
      return known === total ? true : undefined;
    },
    {
      timeoutMs,
      everyMs: 500,
      progress: (ms) => log(`  ${Math.round(ms / 1000)} s: waiting for first contact`),
    },
  );
  const firstContact = (Date.now() - t0) / 1000;
  log(
    `all ${total} devices registered and reported their factory image (${firstContact.toFixed(1)} s)`,
  );

  // 2. Three groups: two dynamic (saved queries), one static.
  const lab = sim.devices.filter((d) => d.site === 'lab').map((d) => d.deviceId);
  ok(
    await sim.admin('POST', 'groups', {
      name: 'oslo',
      kind: 'dynamic',
      expression: 'model=gw-200 and site=oslo',
    }),
    'creating group oslo',
  );
  ok(
    await sim.admin('POST', 'groups', {
      name: 'bergen',
      kind: 'dynamic',
      expression: 'site=bergen',
    }),
    'creating group bergen',
  );
  ok(
    await sim.admin('POST', 'groups', { name: 'lab', kind: 'static', devices: lab }),
    'creating group lab',
  );
  const groups: Record<string, string[]> = {};
  for (const name of ['oslo', 'bergen', 'lab']) {
    groups[name] = ok(await sim.admin('GET', `groups/${name}`), `reading group ${name}`).json
      .members as string[];
    log(`group ${name}: ${groups[name]?.length} devices`);
  }

  // 3. A good release to bergen: canary 5 devices, then half, then the rest.
  t0 = Date.now();
  const goodId = await startDeployment(sim, SIMULATION_RELEASES.good, 'bergen', {
    phases: [{ devices: 5 }, { percent: 50 }, { percent: 100 }],
    maxConcurrent: 25,
    updateControl: 'forced',
  });
  log(`deployment ${goodId}: ${SIMULATION_RELEASES.good} to bergen, phases 5 / 50 % / 100 %`);
  const watch = { timeoutMs, log };
  const good = await watchDeployment(
    sim,
    goodId,
    'the good deployment completing',
    async (report) => {
      if (report.deployment.status === 'running') return false;
      if (report.deployment.status === 'completed') return true;
      throw new InvalidStateError(
        `the good deployment stopped: ${progressLine(report)} (${report.deployment.statusReason})`,
      );
    },
    watch,
  );
  const goodSeconds = (Date.now() - t0) / 1000;
  log(
    `  ${progressLine(good)} (${goodSeconds.toFixed(1)} s); incompatible: ${good.incompatible.length}`,
  );

  // 4. A bad release to oslo: canary 10 devices; more than 20 % failing pauses it.
  t0 = Date.now();
  const badId = await startDeployment(sim, SIMULATION_RELEASES.bad, 'oslo', {
    phases: [{ devices: 10 }, { percent: 50 }, { percent: 100 }],
    maxConcurrent: 25,
    updateControl: 'forced',
  });
  log(
    `deployment ${badId}: ${SIMULATION_RELEASES.bad} to oslo, canary 10 devices, pause above 20 % failures`,
  );
  const bad = await watchDeployment(
    sim,
    badId,
    'the bad deployment pausing itself',
    async (report) => {
      if (report.deployment.status === 'completed' || report.deployment.status === 'aborted') {
        throw new InvalidStateError(`the bad deployment did not pause: ${progressLine(report)}`);
      }
      const settled = Object.values(report.deployment.devices).every((d) =>
        FINISHED_STATES.includes(d.state as RolloutDeviceState),
      );
      return report.deployment.status === 'paused' && settled;
    },
    watch,
  );
  const badSeconds = (Date.now() - t0) / 1000;
  log(`  ${progressLine(bad)} (${badSeconds.toFixed(1)} s): ${bad.deployment.statusReason ?? ''}`);

  // The rolled-back devices report their old image again before the end is read.
  const rolledBack = bad.failures.map((f) => f.deviceId);
  await sim.waitFor(
    'the rolled-back devices reporting their factory image',
    async () => {
      const installed = await installedMap(sim);
      return rolledBack.every((id) => installed[id] === SIMULATION_RELEASES.factory)
        ? true
        : undefined;
    },
    { timeoutMs, everyMs: 500 },
  );
  // 5. The good release to lab, asking each device's user first: half of them decline.
  t0 = Date.now();
  const consentId = await startDeployment(sim, SIMULATION_RELEASES.good, 'lab', {
    phases: [{ percent: 100 }],
    maxConcurrent: 100,
    updateControl: 'consent',
  });
  log(
    `deployment ${consentId}: ${SIMULATION_RELEASES.good} to lab, each device's user asked first`,
  );
  const labDevices = sim.devices.filter((d) => d.site === 'lab');
  const consent = await watchDeployment(
    sim,
    consentId,
    'every lab device that agrees running the release, every one that declines asked',
    async (report) => {
      const settled = labDevices.every((d) => {
        const state = report.deployment.devices[d.deviceId]?.state;
        return d.consents ? state === 'succeeded' : state === 'pending' && d.consentAsked > 0;
      });
      if (!settled) return false;
      // The commit is reported before the manifest that shows it: wait for the inventory too.
      const installed = await installedMap(sim);
      return labDevices.every(
        (d) => !d.consents || installed[d.deviceId] === SIMULATION_RELEASES.good,
      );
    },
    watch,
  );
  const consentSeconds = (Date.now() - t0) / 1000;
  log(
    `  ${progressLine(consent)} (${consentSeconds.toFixed(1)} s): ${labDevices.filter((d) => !d.consents).length} devices declined and wait`,
  );

  const installed = await installedMap(sim);
  const overview = ok(await sim.admin('GET', 'overview'), 'reading the overview').json;
  return {
    groups,
    good,
    bad,
    installed,
    overview,
    consent,
    seconds: { firstContact, good: goodSeconds, bad: badSeconds, consent: consentSeconds },
  };
}
