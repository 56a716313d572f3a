/**
 * The rollout service (issue 15): runs the pure state machine of `src/fleet/rollout.ts` against
 * the fleet — group members evaluated when a phase starts, compatibility checked against the
 * image repository, each step persisted (write-ahead, version-checked) before its actions are
 * carried out through the director.
 *
 * - {@link RolloutService.tick} steps every running deployment once (a bounded timer calls it,
 *   and so does each relevant device event). A step saved by another process first
 *   (`ERR_TUF_FLEET_CONFLICT`) is dropped: that process carries out its actions, so none is
 *   applied twice.
 * - {@link RolloutService.ensureAssignments} runs at start: every assigned, unfinished device of
 *   each deployment gets its director assignment re-issued unless the director already holds one
 *   with the deployment's correlation id (idempotent), so a crash between saving a step and
 *   assigning loses nothing and repeats nothing.
 *   Aborted deployments get their withdrawals repeated the same way.
 * - {@link RolloutService.report} maps a device's phase report onto `applyDeviceReport`; a
 *   `deferred` report (the device's integrator did not consent) keeps the device `pending`.
 * - {@link RolloutService.withdrawAssignments}: after an abort, each assigned device that had not
 *   finished gets its director assignment cleared (only while it still carries the deployment's
 *   correlation id), so its next cycle does not start the release.
 *
 * The deployment's `updateControl` travels in each assignment: `consent` puts
 * `updateControl: "consent"` into the device's signed director targets.
 *
 * One instance per process; safe to run in several processes on one database.
 *
 * @module
 */
import { FleetError } from '../../errors.js';
import {
  type GroupExpression,
  matchesGroup,
  parseGroupExpression,
} from '../../fleet/group-expression.js';
import {
  applyDeviceReport,
  assignmentsToEnsure,
  assignmentsToWithdraw,
  type Deployment,
  type RolloutAction,
  type RolloutCandidate,
  type RolloutDeviceState,
  stepDeployment,
} from '../../fleet/rollout.js';
import type { AuditInput, FleetDeviceDetail } from '../store/fleet-store.js';
import type { GroupRecord, RolloutStore, StoredDeployment } from '../store/rollout-store.js';
import type { FleetContext } from './context.js';

/** The agent's journal phases → the deployment's device states (docs/fleet-server-api.md). */
export const PHASE_TO_STATE: Readonly<Record<string, RolloutDeviceState>> = Object.freeze({
  writing: 'downloading',
  written: 'installing',
  activated: 'installing',
  rebooting: 'rebooting',
  committed: 'succeeded',
  rolledBack: 'rolledBack',
  failed: 'failed',
  refused: 'failed',
  // The device's integrator has not consented yet (updateControl consent): still to do.
  deferred: 'pending',
});

/** The reason a deployment shows for a device whose integrator has not consented yet. */
export const DEFERRED_REASON = 'waiting for consent on the device';

/** Devices read per page when a group is evaluated. */
const PAGE = 1000;
/** Pages read at most for one group (bounded: 1,000,000 devices). */
const MAX_PAGES = 1000;

const SYSTEM = 'system:rollouts';

/** Thrown by the candidates callback of a first, candidate-free step (see `step`). */
const NEED_CANDIDATES = Symbol('need candidates');

/** Whether `device` belongs to `group` now (accepted, and listed or matching the expression). */
function contains(
  group: GroupRecord,
  expression: GroupExpression | undefined,
  device: FleetDeviceDetail,
): boolean {
  if (device.status !== 'accepted') return false;
  if (group.kind === 'static') return group.devices.includes(device.deviceId);
  if (expression === undefined) return false;
  return matchesGroup(expression, {
    deviceId: device.deviceId,
    status: device.status,
    ...(device.model !== undefined ? { model: device.model } : {}),
    ...(device.hardwareRevision !== undefined ? { hardwareRevision: device.hardwareRevision } : {}),
    hardwareIds: device.hardwareIds,
    installed: device.ecus.flatMap((e) =>
      e.installedTarget !== undefined ? [e.installedTarget] : [],
    ),
    attributes: device.attributes,
  });
}

/**
 * The names of the groups (static and dynamic, dynamic evaluated now) that hold `device` — the
 * same membership rule as {@link groupMembers}, so the device page and the group page agree.
 */
export function groupsOf(groups: readonly GroupRecord[], device: FleetDeviceDetail): string[] {
  return groups
    .filter((g) =>
      contains(g, g.kind === 'dynamic' ? parseGroupExpression(g.expression) : undefined, device),
    )
    .map((g) => g.name);
}

/** The group's accepted members now, as inventory details. */
export async function groupMembers(
  ctx: Pick<FleetContext, 'store'>,
  group: GroupRecord,
): Promise<FleetDeviceDetail[]> {
  const wanted = group.kind === 'static' ? new Set(group.devices) : undefined;
  const expression = group.kind === 'dynamic' ? parseGroupExpression(group.expression) : undefined;
  const out: FleetDeviceDetail[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = await ctx.store.listDevices({
      status: ['accepted'],
      limit: PAGE,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const device of result.items) {
      if (wanted !== undefined && !wanted.has(device.deviceId)) continue;
      if (wanted === undefined && !contains(group, expression, device)) continue;
      out.push(device);
    }
    if (result.nextCursor === undefined) break;
    cursor = result.nextCursor;
  }
  return out;
}

/** The rollout engine of one server process. */
export class RolloutService {
  readonly #ctx: FleetContext;
  readonly #rollouts: RolloutStore;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(ctx: FleetContext, rollouts: RolloutStore) {
    this.#ctx = ctx;
    this.#rollouts = rollouts;
  }

  /** Re-issue outstanding assignments, then step every `intervalMs` (≥ 100). */
  async start(intervalMs: number): Promise<void> {
    await this.ensureAssignments();
    this.#timer = setInterval(() => void this.tick().catch(() => {}), Math.max(100, intervalMs));
    this.#timer.unref();
  }

  /** Stop the timer and wait for a step in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running.catch(() => {});
  }

  /** Why `device` cannot take `release`, or undefined when it can. */
  async incompatibility(device: FleetDeviceDetail, release: string): Promise<string | undefined> {
    const primary = device.ecus.find((e) => e.primary) ?? device.ecus[0];
    if (primary === undefined) return 'the device has not reported its ECUs yet';
    let target: Awaited<ReturnType<FleetContext['images']['find']>>;
    try {
      target = await this.#ctx.images.find(release, primary.hardwareId);
    } catch (error) {
      if (error instanceof FleetError && error.code !== 'ERR_TUF_FLEET_STORE') {
        return `hardware id ${primary.hardwareId}: ${error.message}`;
      }
      throw error;
    }
    if (primary.installedTarget !== undefined && target.releaseCounter !== undefined) {
      const installed = await this.#ctx.images
        .find(primary.installedTarget, primary.hardwareId)
        .catch(() => undefined);
      const floor = installed?.releaseCounter;
      if (floor !== undefined && target.releaseCounter < floor) {
        return `release counter ${target.releaseCounter} is below the installed ${primary.installedTarget}'s ${floor}`;
      }
    }
    return undefined;
  }

  async #candidates(stored: StoredDeployment): Promise<RolloutCandidate[]> {
    const group = await this.#rollouts.getGroup(stored.deployment.group);
    if (group === undefined) return [];
    const out: RolloutCandidate[] = [];
    for (const device of await groupMembers(this.#ctx, group)) {
      if (Object.hasOwn(stored.deployment.devices, device.deviceId)) continue;
      const why = await this.incompatibility(device, stored.deployment.release);
      out.push({ deviceId: device.deviceId, ...(why !== undefined ? { incompatible: why } : {}) });
    }
    return out;
  }

  /** Step every running deployment once (serialized within this process). */
  tick(): Promise<void> {
    const run = this.#running.then(async () => {
      for (const stored of await this.#rollouts.listDeployments({ status: ['running'] })) {
        await this.step(stored.deployment.id);
      }
    });
    this.#running = run.catch(() => {});
    return run;
  }

  /**
   * Step one deployment: load, step, save (version-checked), then act. Returns the actions
   * carried out (none when another writer saved first).
   */
  async step(id: string): Promise<RolloutAction[]> {
    const stored = await this.#rollouts.getDeployment(id);
    if (stored === undefined || stored.deployment.status !== 'running') return [];
    const now = this.#ctx.now();
    // The group is evaluated (and each member's compatibility looked up) only when the step
    // starts a phase: the pure step is run once without candidates, and again with them if it
    // asked. Most steps (a device report, a tick in the middle of a phase) never ask.
    let result: ReturnType<typeof stepDeployment>;
    try {
      result = stepDeployment(stored.deployment, now, () => {
        throw NEED_CANDIDATES;
      });
    } catch (error) {
      if (error !== NEED_CANDIDATES) throw error;
      const candidates = await this.#candidates(stored);
      result = stepDeployment(stored.deployment, now, () => candidates);
    }
    const { deployment, actions } = result;
    if (actions.length === 0 && JSON.stringify(deployment) === JSON.stringify(stored.deployment)) {
      return [];
    }
    try {
      await this.#rollouts.saveDeployment(
        deployment,
        stored.version,
        now.toISOString(),
        this.#audit('deployment.step', id),
      );
    } catch (error) {
      if (error instanceof FleetError && error.code === 'ERR_TUF_FLEET_CONFLICT') return [];
      throw error;
    }
    for (const action of actions) {
      if (action.type === 'assign') {
        await this.#assign(action.deviceId, id, action.release, action.updateControl);
      }
    }
    return actions;
  }

  /**
   * Re-issue every outstanding assignment whose director entry is missing, and repeat the
   * withdrawals of aborted deployments (at start).
   */
  async ensureAssignments(): Promise<number> {
    let issued = 0;
    for (const stored of await this.#rollouts.listDeployments({ status: ['running', 'paused'] })) {
      const d = stored.deployment;
      for (const deviceId of assignmentsToEnsure(d)) {
        const record = await this.#ctx.director.device(deviceId);
        if (record?.assignment?.correlationId === d.id) continue;
        await this.#assign(deviceId, d.id, d.release, d.policy.updateControl);
        issued += 1;
      }
    }
    for (const stored of await this.#rollouts.listDeployments({ status: ['aborted'] })) {
      await this.withdrawAssignments(stored.deployment);
    }
    return issued;
  }

  /**
   * After `deployment` was aborted (and saved): clear the director assignment of every device it
   * assigned that had not finished ({@link assignmentsToWithdraw}) — only where the director
   * still holds this deployment's assignment, so a later deployment's is never wiped.
   * Idempotent. Returns the devices whose assignment was cleared now.
   */
  async withdrawAssignments(deployment: Deployment): Promise<string[]> {
    const cleared: string[] = [];
    for (const deviceId of assignmentsToWithdraw(deployment)) {
      if (await this.#withdrawFrom(deviceId, deployment.id, 'deployment aborted')) {
        cleared.push(deviceId);
      }
    }
    return cleared;
  }

  /** Clear `deviceId`'s director assignment if it is still `deploymentId`'s; logged. */
  async #withdrawFrom(deviceId: string, deploymentId: string, reason: string): Promise<boolean> {
    const record = await this.#ctx.director.device(deviceId);
    if (record?.assignment?.correlationId !== deploymentId) return false;
    if (!(await this.#ctx.director.clearAssignment(deviceId, deploymentId))) return false;
    await this.#ctx.store.appendEvent({
      deviceId,
      kind: 'assignment',
      correlationId: deploymentId,
      at: this.#ctx.now().toISOString(),
      data: { withdrawn: true, reason, by: SYSTEM },
    });
    return true;
  }

  async #assign(
    deviceId: string,
    deploymentId: string,
    release: string,
    updateControl: 'forced' | 'consent',
  ): Promise<void> {
    const record = await this.#ctx.director.device(deviceId);
    const primary = record?.ecus.find((e) => e.primary) ?? record?.ecus[0];
    if (record === undefined || primary === undefined) return;
    // The image repository's entry, never a length or hash from a client.
    const target = await this.#ctx.images.find(release, primary.hardwareId);
    await this.#ctx.director.assign(
      deviceId,
      deploymentId,
      [{ ecuSerial: primary.ecuSerial, target }],
      { updateControl },
    );
    await this.#ctx.store.appendEvent({
      deviceId,
      kind: 'assignment',
      correlationId: deploymentId,
      at: this.#ctx.now().toISOString(),
      data: { targetPath: target.path, length: target.length, updateControl, by: SYSTEM },
    });
  }

  /**
   * A device's phase report under correlation id `deploymentId`: moves its state (retrying a
   * version conflict a bounded number of times), then steps the deployment.
   */
  async report(
    deviceId: string,
    deploymentId: string,
    phase: string,
    reason?: string,
  ): Promise<void> {
    const state = PHASE_TO_STATE[phase];
    if (state === undefined) return;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const stored = await this.#rollouts.getDeployment(deploymentId);
      if (stored === undefined) return;
      const at = this.#ctx.now().toISOString();
      const why = reason ?? (phase === 'deferred' ? DEFERRED_REASON : undefined);
      const next = applyDeviceReport(stored.deployment, {
        deviceId,
        state,
        at,
        ...(why !== undefined ? { reason: why } : {}),
      });
      if (next === stored.deployment) return;
      try {
        await this.#rollouts.saveDeployment(next, stored.version, at, {
          actor: `device:${deviceId}`,
          action: 'deployment.report',
          subject: `deployment:${deploymentId}`,
          at,
        });
        break;
      } catch (error) {
        if (!(error instanceof FleetError && error.code === 'ERR_TUF_FLEET_CONFLICT')) throw error;
      }
    }
    if (state === 'failed' || state === 'rolledBack') {
      // The device is done with this release: withdraw the order, so that it does not install
      // it again (its agent refuses the same signed order anyway) and a retry is a new order.
      await this.#withdrawFrom(deviceId, deploymentId, `the device reported ${phase}`);
    }
    if (state === 'succeeded' || state === 'failed' || state === 'rolledBack') {
      await this.step(deploymentId);
    }
  }

  #audit(action: string, id: string): AuditInput {
    return {
      actor: SYSTEM,
      action,
      subject: `deployment:${id}`,
      at: this.#ctx.now().toISOString(),
    };
  }
}
