/**
 * The phased-rollout state machine (issue 15): which devices of a group get a release, when,
 * and when to stop by itself.
 *
 * A {@link Deployment} is a plain JSON value. Every decision is a pure function of that value,
 * the devices the caller offers and the time the caller passes in, so the server persists the
 * value after each step and a restart continues exactly where it stopped:
 *
 * - {@link stepDeployment} starts phases (choosing their devices), hands out assignments within
 *   the concurrency limit and maintenance windows, pauses on failures, waits out soak times and
 *   completes. It returns the next value and the actions to carry out.
 * - A device is marked `assignedAt` in the value *before* the caller asks the director to assign
 *   it (write-ahead). After a crash between the two, {@link assignmentsToEnsure} lists every
 *   assigned, unfinished device, and the caller re-issues those assignments — idempotent in the
 *   director — so none is lost and none is handed out twice.
 * - {@link applyDeviceReport} moves a device through pending → downloading → installing →
 *   rebooting → succeeded | failed | rolledBack; a finished device never moves back except by
 *   {@link retryFailed}.
 * - Phase membership is chosen in a stable order (SHA-256 of deployment id and device id), so the
 *   canary devices do not depend on the order the inventory lists them in.
 *
 * Pure: no clock, no I/O (the time is an argument).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { FormatError, InvalidStateError } from '../errors.js';
import {
  inMaintenanceWindow,
  type MaintenanceWindow,
  validateMaintenanceWindow,
} from './maintenance-window.js';

/** Where one device is in a deployment. */
export type RolloutDeviceState =
  | 'pending'
  | 'downloading'
  | 'installing'
  | 'rebooting'
  | 'succeeded'
  | 'failed'
  | 'rolledBack'
  | 'skipped';

/** States after which nothing more happens to the device in this deployment. */
export const FINISHED_STATES: readonly RolloutDeviceState[] = Object.freeze([
  'succeeded',
  'failed',
  'rolledBack',
  'skipped',
]);

/** States that count as failures of a phase. */
const FAILED_STATES: readonly RolloutDeviceState[] = ['failed', 'rolledBack'];

/** The size of one phase: a number of devices, or a percentage of the group. */
export type PhaseSize = { devices: number } | { percent: number };

/** How a deployment proceeds. */
export interface RolloutPolicy {
  /** Phases in order; the first is the canary. The last phase takes every remaining device. */
  phases: PhaseSize[];
  /** Seconds to wait after a phase finished before the next starts. */
  soakSeconds: number;
  /**
   * The failure rate (failed + rolled back, over the phase's devices that were not skipped)
   * above which the deployment pauses itself, 0 … 1.
   */
  maxFailureRate: number;
  /** Devices updating at once (assigned and unfinished), at least 1. */
  maxConcurrent: number;
  /** When the group's devices may start updating (none: any time). */
  maintenanceWindows?: MaintenanceWindow[];
  /** `forced`: the device installs; `consent`: the agent asks its integrator first. */
  updateControl: 'forced' | 'consent';
}

/** One device's record in a deployment. */
export interface RolloutDevice {
  /** Index of the phase that took the device. */
  phase: number;
  state: RolloutDeviceState;
  /** When the assignment was handed out (absent: not yet). */
  assignedAt?: string;
  updatedAt: string;
  /** Why the device failed, rolled back or was skipped. */
  reason?: string;
  /** Assignments handed out (1, plus one per retry). */
  attempts: number;
}

/** A deployment's life. */
export type DeploymentStatus = 'running' | 'paused' | 'aborted' | 'completed';

/** A deployment: a release to a group, and everything decided so far. */
export interface Deployment {
  id: string;
  /** What is deployed (the image repository target path). */
  release: string;
  group: string;
  policy: RolloutPolicy;
  status: DeploymentStatus;
  /** Why it paused or was aborted. */
  statusReason?: string;
  /** Index of the phase in progress (or last finished). −1 before the first starts. */
  phase: number;
  phaseStartedAt?: string;
  /** When every device of the current phase finished (the soak time runs from here). */
  phaseFinishedAt?: string;
  devices: Record<string, RolloutDevice>;
  /** Devices of the group that cannot take the release, and why (never silently skipped). */
  incompatible: Record<string, string>;
  createdAt: string;
  /**
   * Failed devices an operator accepted by resuming after an automatic pause: they no longer
   * count toward the failure rate (the deployment would pause again at once otherwise).
   */
  acceptedFailures?: string[];
  /** Every change, oldest first (status changes and phase starts), for the report's timeline. */
  timeline: { at: string; event: string }[];
}

/** A device the caller offers when a phase starts: a group member, checked for compatibility. */
export interface RolloutCandidate {
  deviceId: string;
  /** Why it cannot take the release (hardware id, release counter), if it cannot. */
  incompatible?: string;
}

/** Something the caller must do after a step. */
export type RolloutAction =
  | { type: 'assign'; deviceId: string; release: string; updateControl: 'forced' | 'consent' }
  | { type: 'cancel'; deviceId: string }
  | { type: 'paused'; reason: string; failedDevices: string[] }
  | { type: 'phase-started'; phase: number; devices: string[] }
  | { type: 'completed' };

/** Create a deployment (not yet started: the first step starts phase 0). */
export function createDeployment(input: {
  id: string;
  release: string;
  group: string;
  policy: RolloutPolicy;
  at: string;
}): Deployment {
  validatePolicy(input.policy);
  return {
    id: input.id,
    release: input.release,
    group: input.group,
    policy: input.policy,
    status: 'running',
    phase: -1,
    devices: {},
    incompatible: {},
    createdAt: input.at,
    timeline: [{ at: input.at, event: 'created' }],
  };
}

/**
 * Check a policy.
 *
 * @throws FormatError naming the field.
 */
export function validatePolicy(policy: RolloutPolicy): void {
  if (!Array.isArray(policy.phases) || policy.phases.length === 0 || policy.phases.length > 20) {
    throw new FormatError('rollout policy: phases must list 1 to 20 phases');
  }
  for (const [i, phase] of policy.phases.entries()) {
    const ok =
      'devices' in phase
        ? Number.isSafeInteger(phase.devices) && phase.devices >= 1
        : 'percent' in phase && phase.percent > 0 && phase.percent <= 100;
    if (!ok) {
      throw new FormatError(
        `rollout policy: phases[${i}] must be {devices: N ≥ 1} or {percent: 0 < P ≤ 100}`,
      );
    }
  }
  if (!Number.isFinite(policy.soakSeconds) || policy.soakSeconds < 0) {
    throw new FormatError('rollout policy: soakSeconds must be ≥ 0');
  }
  if (!(policy.maxFailureRate >= 0 && policy.maxFailureRate <= 1)) {
    throw new FormatError('rollout policy: maxFailureRate must be within 0 … 1');
  }
  if (!Number.isSafeInteger(policy.maxConcurrent) || policy.maxConcurrent < 1) {
    throw new FormatError('rollout policy: maxConcurrent must be an integer ≥ 1');
  }
  if (policy.updateControl !== 'forced' && policy.updateControl !== 'consent') {
    throw new FormatError('rollout policy: updateControl must be "forced" or "consent"');
  }
  for (const window of policy.maintenanceWindows ?? []) validateMaintenanceWindow(window);
}

function clone(deployment: Deployment): Deployment {
  return structuredClone(deployment);
}

function order(deploymentId: string, deviceId: string): string {
  return createHash('sha256').update(`${deploymentId}\n${deviceId}`).digest('hex');
}

function phaseDevices(d: Deployment, phase: number): [string, RolloutDevice][] {
  return Object.entries(d.devices).filter(([, device]) => device.phase === phase);
}

function isFinished(state: RolloutDeviceState): boolean {
  return FINISHED_STATES.includes(state);
}

function phaseSize(size: PhaseSize, groupSize: number): number {
  if ('devices' in size) return size.devices;
  return Math.max(1, Math.ceil((size.percent / 100) * groupSize));
}

/** Failure figures of one phase. */
export function phaseFailures(
  d: Deployment,
  phase: number,
): { failed: string[]; counted: number; size: number } {
  const accepted = new Set(d.acceptedFailures ?? []);
  const devices = phaseDevices(d, phase).filter(([id]) => !accepted.has(id));
  const failed = devices.filter(([, x]) => FAILED_STATES.includes(x.state)).map(([id]) => id);
  const counted = devices.filter(([, x]) => x.state !== 'skipped').length;
  return { failed: failed.sort(), counted, size: devices.length };
}

/**
 * Has the phase failed beyond the policy? Decided as soon as it is certain: when the failures
 * already exceed the rate over the phase's whole size, whatever the remaining devices do.
 */
function failedBeyondPolicy(d: Deployment, phase: number): string[] | undefined {
  const { failed, counted } = phaseFailures(d, phase);
  if (counted === 0 || failed.length === 0) return undefined;
  return failed.length / counted > d.policy.maxFailureRate ? failed : undefined;
}

/**
 * Advance a deployment by one step at time `at`.
 *
 * `candidates` is consulted only when a phase starts: the group's members, evaluated then, each
 * checked for compatibility by the caller. Devices already in the deployment are ignored.
 */
export function stepDeployment(
  current: Deployment,
  at: Date,
  candidates: () => readonly RolloutCandidate[],
): { deployment: Deployment; actions: RolloutAction[] } {
  const d = clone(current);
  const now = at.toISOString();
  const actions: RolloutAction[] = [];
  if (d.status !== 'running') return { deployment: d, actions };

  // A phase that failed beyond the policy pauses the deployment, before anything else is handed
  // out.
  if (d.phase >= 0) {
    const failed = failedBeyondPolicy(d, d.phase);
    if (failed !== undefined) {
      const { counted } = phaseFailures(d, d.phase);
      const reason = `phase ${d.phase + 1}: ${failed.length} of ${counted} devices failed or rolled back, above the limit of ${Math.round(d.policy.maxFailureRate * 100)}%`;
      d.status = 'paused';
      d.statusReason = reason;
      d.timeline.push({ at: now, event: `paused: ${reason}` });
      actions.push({ type: 'paused', reason, failedDevices: failed });
      return { deployment: d, actions };
    }
  }

  // Phase bookkeeping: finished → soak → next phase, or completed.
  const current_ = d.phase >= 0 ? phaseDevices(d, d.phase) : [];
  const phaseDone = d.phase >= 0 && current_.every(([, x]) => isFinished(x.state));
  if (phaseDone && d.phaseFinishedAt === undefined) {
    d.phaseFinishedAt = now;
    d.timeline.push({ at: now, event: `phase ${d.phase + 1} finished` });
  }
  if (d.phase < 0 || phaseDone) {
    const last = d.phase === d.policy.phases.length - 1;
    const soakOver =
      d.phase < 0 ||
      at.getTime() >= Date.parse(d.phaseFinishedAt as string) + d.policy.soakSeconds * 1000;
    if (soakOver && last) {
      d.status = 'completed';
      d.timeline.push({ at: now, event: 'completed' });
      actions.push({ type: 'completed' });
      return { deployment: d, actions };
    }
    if (soakOver) startPhase(d, d.phase + 1, now, candidates(), actions);
  }

  // Hand out assignments within the concurrency limit and the maintenance windows.
  if (d.phase >= 0 && inMaintenanceWindow(d.policy.maintenanceWindows, at)) {
    let inFlight = Object.values(d.devices).filter(
      (x) => x.assignedAt !== undefined && !isFinished(x.state),
    ).length;
    // Earlier phases' devices come first: retried devices wait there.
    const waiting = Object.entries(d.devices)
      .filter(([, x]) => x.state === 'pending' && x.assignedAt === undefined)
      .sort(([a, x], [b, y]) => x.phase - y.phase || (order(d.id, a) < order(d.id, b) ? -1 : 1));
    for (const [deviceId, device] of waiting) {
      if (inFlight >= d.policy.maxConcurrent) break;
      device.assignedAt = now;
      device.updatedAt = now;
      inFlight += 1;
      actions.push({
        type: 'assign',
        deviceId,
        release: d.release,
        updateControl: d.policy.updateControl,
      });
    }
  }
  return { deployment: d, actions };
}

function startPhase(
  d: Deployment,
  phase: number,
  now: string,
  offered: readonly RolloutCandidate[],
  actions: RolloutAction[],
): void {
  const fresh: string[] = [];
  for (const candidate of offered) {
    if (Object.hasOwn(d.devices, candidate.deviceId)) continue;
    if (candidate.incompatible !== undefined) {
      d.incompatible[candidate.deviceId] = candidate.incompatible;
      continue;
    }
    fresh.push(candidate.deviceId);
  }
  for (const id of Object.keys(d.incompatible)) {
    if (offered.some((c) => c.deviceId === id && c.incompatible === undefined)) {
      delete d.incompatible[id];
    }
  }
  fresh.sort((a, b) => (order(d.id, a) < order(d.id, b) ? -1 : 1));
  const groupSize = Object.keys(d.devices).length + fresh.length;
  const last = phase === d.policy.phases.length - 1;
  const take = last
    ? fresh.length
    : Math.min(fresh.length, phaseSize(d.policy.phases[phase] as PhaseSize, groupSize));
  const chosen = fresh.slice(0, take);
  for (const deviceId of chosen) {
    d.devices[deviceId] = { phase, state: 'pending', updatedAt: now, attempts: 1 };
  }
  d.phase = phase;
  d.phaseStartedAt = now;
  delete d.phaseFinishedAt;
  d.timeline.push({ at: now, event: `phase ${phase + 1} started with ${chosen.length} devices` });
  actions.push({ type: 'phase-started', phase, devices: chosen });
  if (chosen.length === 0) {
    // Nothing to wait for: the phase is finished at once (the next step soaks or completes).
    d.phaseFinishedAt = now;
  }
}

/** The order a device's states may follow; a report never moves a device backwards. */
const PROGRESS: Record<RolloutDeviceState, number> = {
  pending: 0,
  downloading: 1,
  installing: 2,
  rebooting: 3,
  succeeded: 4,
  failed: 4,
  rolledBack: 4,
  skipped: 4,
};

/**
 * Record what a device reported. Reports for devices outside the deployment, reports older than
 * the device's state, and reports after the device finished are ignored (returned unchanged):
 * devices report late and twice.
 */
export function applyDeviceReport(
  current: Deployment,
  report: { deviceId: string; state: RolloutDeviceState; at: string; reason?: string },
): Deployment {
  const device = current.devices[report.deviceId];
  if (device === undefined || device.assignedAt === undefined) return current;
  if (isFinished(device.state)) return current;
  if (PROGRESS[report.state] < PROGRESS[device.state]) return current;
  const d = clone(current);
  const next = d.devices[report.deviceId] as RolloutDevice;
  // A reason belongs to the state it came with (a pending device's "waiting for consent").
  if (report.state !== device.state) delete next.reason;
  next.state = report.state;
  next.updatedAt = report.at;
  if (report.reason !== undefined) next.reason = report.reason.slice(0, 1024);
  return d;
}

/**
 * Devices of an aborted deployment whose director assignment is withdrawn: handed out and not
 * finished when the abort came (now `skipped` by it, or still downloading, installing or
 * rebooting). A device that succeeded, failed or rolled back keeps its assignment. Withdrawing
 * is idempotent in the director, so the caller may repeat it after a crash.
 */
export function assignmentsToWithdraw(d: Deployment): string[] {
  if (d.status !== 'aborted') return [];
  return Object.entries(d.devices)
    .filter(([, x]) => x.assignedAt !== undefined && !FINISHED_BY_DEVICE.includes(x.state))
    .map(([id]) => id)
    .sort();
}

/** States a device reaches by itself (not by the operator's abort). */
const FINISHED_BY_DEVICE: readonly RolloutDeviceState[] = ['succeeded', 'failed', 'rolledBack'];

/**
 * Devices whose assignment must be in place: handed out and not finished. After a restart the
 * caller re-issues these (idempotently) so a crash between recording and issuing loses none.
 */
export function assignmentsToEnsure(d: Deployment): string[] {
  return Object.entries(d.devices)
    .filter(([, x]) => x.assignedAt !== undefined && !isFinished(x.state))
    .map(([id]) => id)
    .sort();
}

/** Pause by hand. */
export function pauseDeployment(current: Deployment, at: string, reason: string): Deployment {
  if (current.status !== 'running') {
    throw new InvalidStateError(`deployment ${current.id} is ${current.status}, not running`);
  }
  const d = clone(current);
  d.status = 'paused';
  d.statusReason = reason;
  d.timeline.push({ at, event: `paused: ${reason}` });
  return d;
}

/**
 * Resume a paused deployment. After an automatic pause the failed devices stay failed: the
 * operator decided to go on (or called {@link retryFailed} first).
 */
export function resumeDeployment(current: Deployment, at: string): Deployment {
  if (current.status !== 'paused') {
    throw new InvalidStateError(`deployment ${current.id} is ${current.status}, not paused`);
  }
  const d = clone(current);
  d.status = 'running';
  delete d.statusReason;
  // The operator accepted the failures seen so far.
  const failed = Object.entries(d.devices)
    .filter(([, x]) => FAILED_STATES.includes(x.state))
    .map(([id]) => id);
  d.acceptedFailures = [...new Set([...(d.acceptedFailures ?? []), ...failed])].sort();
  d.timeline.push({ at, event: 'resumed' });
  return d;
}

/**
 * Abort: devices not yet handed an assignment are skipped; devices assigned but not yet started
 * get their assignment cancelled (`cancel` actions) and are skipped; devices already installing
 * finish on their own (a device mid-install is safer left to conclude or roll back by itself —
 * withdrawing its director assignment, see {@link assignmentsToWithdraw}, only stops the next
 * cycle from starting the release again).
 */
export function abortDeployment(
  current: Deployment,
  at: string,
  reason: string,
): { deployment: Deployment; actions: RolloutAction[] } {
  if (current.status === 'completed' || current.status === 'aborted') {
    throw new InvalidStateError(`deployment ${current.id} is already ${current.status}`);
  }
  const d = clone(current);
  const actions: RolloutAction[] = [];
  for (const [deviceId, device] of Object.entries(d.devices)) {
    if (device.state !== 'pending') continue;
    if (device.assignedAt !== undefined) actions.push({ type: 'cancel', deviceId });
    device.state = 'skipped';
    device.reason = `deployment aborted: ${reason}`;
    device.updatedAt = at;
  }
  d.status = 'aborted';
  d.statusReason = reason;
  d.timeline.push({ at, event: `aborted: ${reason}` });
  return { deployment: d, actions };
}

/**
 * Put failed and rolled-back devices back to pending, to be assigned again by the next steps
 * (within the concurrency limit). A paused deployment stays paused until resumed.
 */
export function retryFailed(current: Deployment, at: string): Deployment {
  if (current.status === 'completed' || current.status === 'aborted') {
    throw new InvalidStateError(`deployment ${current.id} is ${current.status}`);
  }
  const d = clone(current);
  let retried = 0;
  for (const device of Object.values(d.devices)) {
    if (!FAILED_STATES.includes(device.state)) continue;
    device.state = 'pending';
    delete device.assignedAt;
    delete device.reason;
    device.attempts += 1;
    device.updatedAt = at;
    retried += 1;
  }
  if (d.acceptedFailures !== undefined) {
    d.acceptedFailures = d.acceptedFailures.filter((id) => d.devices[id]?.state !== 'pending');
  }
  if (retried > 0) {
    delete d.phaseFinishedAt;
    d.timeline.push({ at, event: `retry of ${retried} devices` });
  }
  return d;
}

/** Devices per state, for status reports. */
export function deploymentSummary(d: Deployment): Record<RolloutDeviceState, number> {
  const counts: Record<RolloutDeviceState, number> = {
    pending: 0,
    downloading: 0,
    installing: 0,
    rebooting: 0,
    succeeded: 0,
    failed: 0,
    rolledBack: 0,
    skipped: 0,
  };
  for (const device of Object.values(d.devices)) counts[device.state] += 1;
  return counts;
}
