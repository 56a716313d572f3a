import { describe, expect, it } from 'vitest';
import { FormatError, InvalidStateError } from '../../src/errors.js';
import {
  abortDeployment,
  applyDeviceReport,
  assignmentsToEnsure,
  createDeployment,
  type Deployment,
  deploymentSummary,
  pauseDeployment,
  type RolloutAction,
  type RolloutCandidate,
  type RolloutPolicy,
  resumeDeployment,
  retryFailed,
  stepDeployment,
} from '../../src/fleet/rollout.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();

const policy = (over: Partial<RolloutPolicy> = {}): RolloutPolicy => ({
  phases: [{ devices: 2 }, { percent: 50 }, { percent: 100 }],
  soakSeconds: 60,
  maxFailureRate: 0.2,
  maxConcurrent: 100,
  updateControl: 'forced',
  ...over,
});

const fleet = (n: number, incompatible: Record<string, string> = {}): RolloutCandidate[] =>
  Array.from({ length: n }, (_, i) => {
    const deviceId = `dev-${String(i).padStart(3, '0')}`;
    return incompatible[deviceId] === undefined
      ? { deviceId }
      : { deviceId, incompatible: incompatible[deviceId] };
  });

const assigned = (actions: RolloutAction[]) =>
  actions.filter((a) => a.type === 'assign').map((a) => (a as { deviceId: string }).deviceId);

function finishAll(d: Deployment, seconds: number, fail: (id: string) => boolean): Deployment {
  let next = d;
  for (const id of assignmentsToEnsure(d)) {
    next = applyDeviceReport(next, {
      deviceId: id,
      state: fail(id) ? 'rolledBack' : 'succeeded',
      at: iso(seconds),
      ...(fail(id) ? { reason: 'health check failed' } : {}),
    });
  }
  return next;
}

describe('stepDeployment', () => {
  it('runs canary, batches and the rest, soaking between phases, then completes', () => {
    let d = createDeployment({
      id: 'd1',
      release: 'fw/2.0.img',
      group: 'g',
      policy: policy(),
      at: iso(0),
    });
    const devices = fleet(20);
    let r = stepDeployment(d, at(0), () => devices);
    expect(r.actions[0]).toMatchObject({ type: 'phase-started', phase: 0 });
    expect(assigned(r.actions)).toHaveLength(2);
    d = finishAll(r.deployment, 10, () => false);
    // Phase finished at 20 s; the soak (60 s) holds the next phase back.
    r = stepDeployment(d, at(20), () => devices);
    expect(r.actions).toEqual([]);
    r = stepDeployment(r.deployment, at(79), () => devices);
    expect(r.actions).toEqual([]);
    r = stepDeployment(r.deployment, at(80), () => devices);
    expect(r.actions[0]).toMatchObject({ type: 'phase-started', phase: 1 });
    expect(assigned(r.actions)).toHaveLength(10); // 50 % of 20
    d = finishAll(r.deployment, 90, () => false);
    r = stepDeployment(d, at(100), () => devices);
    r = stepDeployment(r.deployment, at(160), () => devices);
    expect(r.actions[0]).toMatchObject({ type: 'phase-started', phase: 2 });
    expect(assigned(r.actions)).toHaveLength(8); // the rest
    d = finishAll(r.deployment, 170, () => false);
    r = stepDeployment(d, at(180), () => devices);
    r = stepDeployment(r.deployment, at(240), () => devices);
    expect(r.actions).toEqual([{ type: 'completed' }]);
    expect(r.deployment.status).toBe('completed');
    expect(deploymentSummary(r.deployment).succeeded).toBe(20);
  });

  it('pauses itself after the canary when the release fails, listing the failed devices', () => {
    const devices = fleet(200);
    let r = stepDeployment(
      createDeployment({
        id: 'bad',
        release: 'fw/bad.img',
        group: 'g',
        policy: policy({ phases: [{ devices: 10 }, { percent: 100 }] }),
        at: iso(0),
      }),
      at(0),
      () => devices,
    );
    const canary = assigned(r.actions);
    expect(canary).toHaveLength(10);
    const d = finishAll(r.deployment, 5, () => true);
    r = stepDeployment(d, at(10), () => devices);
    expect(r.deployment.status).toBe('paused');
    const paused = r.actions[0] as Extract<RolloutAction, { type: 'paused' }>;
    expect(paused.type).toBe('paused');
    expect(paused.failedDevices).toEqual([...canary].sort());
    expect(paused.reason).toContain('10 of 10 devices failed');
    // Paused: no step hands anything out, however long it waits.
    expect(stepDeployment(r.deployment, at(10_000), () => devices).actions).toEqual([]);
    expect(Object.keys(r.deployment.devices)).toHaveLength(10);
  });

  it('pauses as soon as the failures make the limit certain, before the phase ends', () => {
    const devices = fleet(10);
    let r = stepDeployment(
      createDeployment({
        id: 'p',
        release: 'r',
        group: 'g',
        policy: policy({ phases: [{ devices: 10 }], maxFailureRate: 0.2 }),
        at: iso(0),
      }),
      at(0),
      () => devices,
    );
    const ids = assigned(r.actions);
    let d = r.deployment;
    for (const id of ids.slice(0, 2))
      d = applyDeviceReport(d, { deviceId: id, state: 'failed', at: iso(1) });
    expect(stepDeployment(d, at(2), () => devices).deployment.status).toBe('running'); // 2/10 = limit
    d = applyDeviceReport(d, { deviceId: ids[2] as string, state: 'rolledBack', at: iso(3) });
    r = stepDeployment(d, at(4), () => devices);
    expect(r.deployment.status).toBe('paused'); // 3/10 > 20 %, whatever the other 7 do
  });

  it('keeps at most maxConcurrent devices updating at once', () => {
    const devices = fleet(10);
    let r = stepDeployment(
      createDeployment({
        id: 'c',
        release: 'r',
        group: 'g',
        policy: policy({ phases: [{ percent: 100 }], maxConcurrent: 3 }),
        at: iso(0),
      }),
      at(0),
      () => devices,
    );
    expect(assigned(r.actions)).toHaveLength(3);
    expect(assigned(stepDeployment(r.deployment, at(1), () => devices).actions)).toEqual([]);
    const first = assigned(r.actions)[0] as string;
    const d = applyDeviceReport(r.deployment, { deviceId: first, state: 'succeeded', at: iso(2) });
    r = stepDeployment(d, at(3), () => devices);
    expect(assigned(r.actions)).toHaveLength(1);
  });

  it('hands out nothing outside the maintenance window, and resumes inside it', () => {
    const devices = fleet(4);
    // 2026-12-05 is a Saturday; the window is Saturday 12:00–13:00 UTC.
    const d = createDeployment({
      id: 'w',
      release: 'r',
      group: 'g',
      policy: policy({
        phases: [{ percent: 100 }],
        maintenanceWindows: [{ days: ['sat'], start: '12:00', end: '13:00', utcOffsetMinutes: 0 }],
      }),
      at: iso(0),
    });
    const outside = stepDeployment(d, at(0), () => devices);
    expect(assigned(outside.actions)).toEqual([]);
    const inside = stepDeployment(outside.deployment, at(2 * 3600), () => devices);
    expect(assigned(inside.actions)).toHaveLength(4);
  });

  it('lists incompatible devices instead of skipping them silently', () => {
    const devices = fleet(6, { 'dev-001': 'hardware id radio is not listed by fw/2.0.img' });
    const r = stepDeployment(
      createDeployment({
        id: 'i',
        release: 'fw/2.0.img',
        group: 'g',
        policy: policy({ phases: [{ percent: 100 }] }),
        at: iso(0),
      }),
      at(0),
      () => devices,
    );
    expect(r.deployment.incompatible).toEqual({
      'dev-001': 'hardware id radio is not listed by fw/2.0.img',
    });
    expect(assigned(r.actions)).not.toContain('dev-001');
    expect(assigned(r.actions)).toHaveLength(5);
  });

  it('chooses the canary by a stable order, not by the order the inventory lists devices', () => {
    const devices = fleet(50);
    const mk = () =>
      createDeployment({
        id: 'same',
        release: 'r',
        group: 'g',
        policy: policy({ phases: [{ devices: 5 }, { percent: 100 }] }),
        at: iso(0),
      });
    const a = assigned(stepDeployment(mk(), at(0), () => devices).actions);
    const b = assigned(stepDeployment(mk(), at(0), () => [...devices].reverse()).actions);
    expect(a).toEqual(b);
  });

  it('survives a restart between any two steps without losing or repeating an assignment', () => {
    const devices = fleet(60);
    let d = createDeployment({
      id: 'restart',
      release: 'r',
      group: 'g',
      policy: policy({
        phases: [{ devices: 5 }, { percent: 30 }, { percent: 100 }],
        maxConcurrent: 7,
        soakSeconds: 0,
      }),
      at: iso(0),
    });
    const issued = new Map<string, number>();
    for (let t = 0; t < 200 && d.status === 'running'; t += 1) {
      // Persist and reload (a restart) before every step.
      d = JSON.parse(JSON.stringify(d)) as Deployment;
      const r = stepDeployment(d, at(t), () => devices);
      for (const id of assigned(r.actions)) issued.set(id, (issued.get(id) ?? 0) + 1);
      d = JSON.parse(JSON.stringify(r.deployment)) as Deployment;
      // Every other step, the devices in flight finish.
      if (t % 2 === 1) d = finishAll(d, t, () => false);
    }
    expect(d.status).toBe('completed');
    expect(issued.size).toBe(60);
    expect([...issued.values()].every((n) => n === 1)).toBe(true);
  });

  it('names the assignments to re-issue after a crash between recording and issuing', () => {
    const devices = fleet(4);
    const r = stepDeployment(
      createDeployment({
        id: 'e',
        release: 'r',
        group: 'g',
        policy: policy({ phases: [{ percent: 100 }] }),
        at: iso(0),
      }),
      at(0),
      () => devices,
    );
    // The server persisted r.deployment and crashed before calling the director.
    expect(assignmentsToEnsure(r.deployment)).toEqual(assigned(r.actions).sort());
    const done = applyDeviceReport(r.deployment, {
      deviceId: 'dev-000',
      state: 'succeeded',
      at: iso(1),
    });
    expect(assignmentsToEnsure(done)).not.toContain('dev-000');
  });
});

describe('device reports', () => {
  const start = () =>
    stepDeployment(
      createDeployment({
        id: 'r',
        release: 'r',
        group: 'g',
        policy: policy({ phases: [{ percent: 100 }] }),
        at: iso(0),
      }),
      at(0),
      () => fleet(2),
    ).deployment;

  it('moves forward only, and never out of a finished state', () => {
    let d = start();
    d = applyDeviceReport(d, { deviceId: 'dev-000', state: 'installing', at: iso(1) });
    expect(applyDeviceReport(d, { deviceId: 'dev-000', state: 'downloading', at: iso(2) })).toBe(d);
    d = applyDeviceReport(d, {
      deviceId: 'dev-000',
      state: 'rolledBack',
      at: iso(3),
      reason: 'boot failed',
    });
    expect(applyDeviceReport(d, { deviceId: 'dev-000', state: 'succeeded', at: iso(4) })).toBe(d);
    expect(d.devices['dev-000']).toMatchObject({ state: 'rolledBack', reason: 'boot failed' });
  });

  it('ignores reports from devices outside the deployment', () => {
    const d = start();
    expect(applyDeviceReport(d, { deviceId: 'intruder', state: 'failed', at: iso(1) })).toBe(d);
  });
});

describe('operator actions', () => {
  const running = () =>
    stepDeployment(
      createDeployment({
        id: 'o',
        release: 'r',
        group: 'g',
        policy: policy({ phases: [{ percent: 100 }], maxConcurrent: 2 }),
        at: iso(0),
      }),
      at(0),
      () => fleet(4),
    );

  it('pause and resume', () => {
    const paused = pauseDeployment(running().deployment, iso(1), 'holiday');
    expect(stepDeployment(paused, at(2), () => fleet(4)).actions).toEqual([]);
    expect(() => pauseDeployment(paused, iso(2), 'again')).toThrow(InvalidStateError);
    const resumed = resumeDeployment(paused, iso(3));
    expect(resumed.status).toBe('running');
    expect(() => resumeDeployment(resumed, iso(4))).toThrow(InvalidStateError);
  });

  it('resuming after an automatic pause accepts the failures seen so far', () => {
    let { deployment: d, actions } = running();
    const [a, b] = assigned(actions) as [string, string];
    d = applyDeviceReport(d, { deviceId: a, state: 'failed', at: iso(1) });
    d = stepDeployment(d, at(2), () => fleet(4)).deployment;
    expect(d.status).toBe('paused');
    d = resumeDeployment(d, iso(3));
    expect(d.acceptedFailures).toEqual([a]);
    const next = stepDeployment(d, at(4), () => fleet(4));
    expect(next.deployment.status).toBe('running');
    expect(assigned(next.actions)).toHaveLength(1); // b is still in flight: 2 at once
    void b;
  });

  it('abort skips waiting devices and cancels assignments not yet started', () => {
    const { deployment, actions } = running();
    const [first] = assigned(actions) as [string];
    const started = applyDeviceReport(deployment, {
      deviceId: first,
      state: 'installing',
      at: iso(1),
    });
    const r = abortDeployment(started, iso(2), 'wrong release');
    expect(r.deployment.status).toBe('aborted');
    expect(r.actions).toEqual([{ type: 'cancel', deviceId: (assigned(actions) as string[])[1] }]);
    expect(deploymentSummary(r.deployment)).toMatchObject({ installing: 1, skipped: 3 });
    expect(() => abortDeployment(r.deployment, iso(3), 'x')).toThrow(InvalidStateError);
  });

  it('retry puts failed devices back and assigns them again', () => {
    let { deployment: d, actions } = running();
    const [a] = assigned(actions) as [string];
    d = applyDeviceReport(d, { deviceId: a, state: 'rolledBack', at: iso(1) });
    d = retryFailed(d, iso(2));
    expect(d.devices[a]).toMatchObject({ state: 'pending', attempts: 2 });
    expect(d.devices[a]?.assignedAt).toBeUndefined();
    const r = stepDeployment(d, at(3), () => fleet(4));
    expect(assigned(r.actions)).toContain(a);
  });
});

describe('validation', () => {
  it.each([
    [{ phases: [] }, 'phases must list'],
    [{ phases: [{ devices: 0 }] }, 'phases[0]'],
    [{ phases: [{ percent: 150 }] }, 'phases[0]'],
    [{ maxFailureRate: 1.5 }, 'maxFailureRate'],
    [{ maxConcurrent: 0 }, 'maxConcurrent'],
    [{ soakSeconds: -1 }, 'soakSeconds'],
    [
      {
        maintenanceWindows: [{ days: ['fri'], start: '25:00', end: '01:00', utcOffsetMinutes: 0 }],
      },
      'start',
    ],
  ] as [Partial<RolloutPolicy>, string][])('refuses %j', (over, why) => {
    expect(() =>
      createDeployment({ id: 'v', release: 'r', group: 'g', policy: policy(over), at: iso(0) }),
    ).toThrow(FormatError);
    expect(() =>
      createDeployment({ id: 'v', release: 'r', group: 'g', policy: policy(over), at: iso(0) }),
    ).toThrow(why);
  });
});
