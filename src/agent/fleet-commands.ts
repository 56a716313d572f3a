/**
 * `tufota-agent` in fleet mode: `check` (one Uptane update cycle), `resume` (the boot step) and
 * `daemon` (resume, then cycles on the poll schedule), each followed by the signed vehicle
 * manifest posted to the fleet server. The `Primary` makes every trust decision; the ECU's
 * `UpdateAgent` writes, activates, health-checks and commits or rolls back the device's own
 * image exactly as outside fleet mode; this module only sequences them and shapes the output.
 *
 * A deployment that needs the integrator's consent (`updateControl: consent`) and did not get it
 * ends the cycle as `deferred`: nothing was downloaded, a `deferred` phase is reported to the
 * fleet server (once per correlation id and session: the daemon would repeat it every poll),
 * and the next cycle asks again.
 *
 * A device still pending acceptance fails its cycle with `ERR_TUF_FLEET_DEVICE_PENDING` (the
 * message names the admin call that accepts it); the daemon keeps polling with back-off.
 *
 * @module
 */
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResumeResult } from '../device/index.js';
import { FleetError, TufError } from '../errors.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { EcuCycleResult } from '../uptane/primary/primary.js';
import { type CheckResult, errorOf, LAST_CHECK_FILE, resumeExit } from './commands.js';
import type { AgentConfig } from './config.js';
import { type LogLine, nextDelaySeconds } from './daemon.js';
import {
  type FleetSession,
  type FleetSessionHooks,
  openFleetSession,
  storedCorrelationId,
} from './fleet-wiring.js';

/** The fleet part of a cycle's result (`check --json`, `status --json` `lastCheck.fleet`). */
export interface FleetCycleReport {
  deviceId: string;
  registration: 'accepted' | 'pending';
  correlationId?: string;
  ecus: {
    ecuSerial: string;
    outcome: string;
    targetPath?: string;
    error?: { code: string; message: string };
  }[];
  /** Whether the signed vehicle manifest reached the server after the cycle. */
  manifest: 'sent' | { error: { code: string; message: string } };
}

/** `check` in fleet mode: a {@link CheckResult} with the fleet details. */
export type FleetCheckResult = CheckResult & { fleet?: FleetCycleReport };

/** The correlation id a session last reported `deferred` for (so each poll does not repeat it). */
const deferredReported = new WeakMap<FleetSession, string>();

/** Post the vehicle manifest; a failure is returned, not thrown (the outcome is decided). */
export async function sendManifest(session: FleetSession): Promise<FleetCycleReport['manifest']> {
  try {
    await session.primary.report();
    return 'sent';
  } catch (error) {
    session.reporter.note(`manifest not delivered: ${errorOf(error).message}`);
    return { error: errorOf(error) };
  }
}

function pendingError(deviceId: string): FleetError {
  return new FleetError(
    'ERR_TUF_FLEET_DEVICE_PENDING',
    `device ${deviceId} is pending: an operator must accept it (POST /api/admin/v1/devices/${deviceId}/accept)`,
  );
}

function ecuOf(e: EcuCycleResult): FleetCycleReport['ecus'][number] {
  return {
    ecuSerial: e.ecuSerial,
    outcome: e.outcome,
    ...(e.targetPath !== undefined ? { targetPath: e.targetPath } : {}),
    ...(e.error !== undefined ? { error: errorOf(e.error) } : {}),
  };
}

/**
 * One fleet cycle on an open session: register, conclude what the journal says, run the Uptane
 * update cycle (installing the primary's own image last: the agent reboots into it), then post
 * the manifest. Throws what the cycle throws, after the manifest was attempted.
 */
export async function fleetCycle(
  session: FleetSession,
  options: { resume?: boolean; register?: boolean } = {},
): Promise<FleetCheckResult> {
  const fleet = session.fleet;
  const checkedAt = new Date().toISOString();
  const registration = options.register === false ? 'accepted' : await session.register();
  if (registration === 'pending') throw pendingError(fleet.deviceId);
  if (options.resume !== false) {
    const resumed = await session.primary.resume();
    if (resumed.outcome === 'rebooting') {
      return {
        checkedAt,
        action: 'install',
        reason: 'the update in flight continued and the device is rebooting into it',
      };
    }
  }
  let cycle: Awaited<ReturnType<FleetSession['primary']['updateCycle']>>;
  try {
    cycle = await session.primary.updateCycle();
  } catch (error) {
    await sendManifest(session); // it carries the attack the refusal named
    throw error;
  }
  const manifest = await sendManifest(session);
  const own = cycle.ecus.find((e) => e.ecuSerial === fleet.ecuSerial);
  const correlation =
    cycle.correlationId !== undefined ? ` (correlation id ${cycle.correlationId})` : '';
  const deferred = cycle.ecus.filter((e) => e.outcome === 'deferred');
  if (deferred.length === 0) deferredReported.delete(session);
  else if (deferredReported.get(session) !== (cycle.correlationId ?? '')) {
    deferredReported.set(session, cycle.correlationId ?? '');
    await session.reporter.report({
      phase: 'deferred',
      result: 'pending',
      at: new Date().toISOString(),
    });
  }
  let action: CheckResult['action'];
  let reason: string;
  if (deferred.length > 0) {
    action = 'deferred';
    reason = `${deferred.map((e) => e.targetPath).join(', ')} assigned by the director${correlation} needs the integrator's consent, which was not given${fleet.consentCommand === undefined ? ' (no fleet.consentCommand is configured)' : ''}: nothing was downloaded; the next cycle asks again`;
  } else if (own?.outcome === 'installing') {
    action = 'install';
    reason = `${own.targetPath} assigned by the director${correlation}: installed into the inactive slot, rebooting`;
  } else if (own?.outcome === 'failed') {
    action = 'refused';
    reason = `the director's assignment for ${fleet.ecuSerial} failed: ${errorOf(own.error).message}`;
  } else if (own?.targetPath !== undefined) {
    action = 'up-to-date';
    reason = `${own.targetPath}, assigned by the director${correlation}, is installed`;
  } else {
    action = 'none';
    reason = `the director assigns nothing to ${fleet.ecuSerial}`;
  }
  return {
    checkedAt,
    action,
    reason,
    ...(own?.error !== undefined ? { error: errorOf(own.error) } : {}),
    fleet: {
      deviceId: fleet.deviceId,
      registration,
      ...(cycle.correlationId !== undefined ? { correlationId: cycle.correlationId } : {}),
      ecus: cycle.ecus.map(ecuOf),
      manifest,
    },
  };
}

async function saveLastCheck(config: AgentConfig, result: FleetCheckResult): Promise<void> {
  await writeFileAtomic(
    path.join(config.stateDir, LAST_CHECK_FILE),
    `${JSON.stringify(result)}\n`,
    { durable: false },
  ).catch(() => {});
}

/** `check` in fleet mode: one cycle (it installs what the director assigns). */
export async function fleetCheckCommand(config: AgentConfig): Promise<FleetCheckResult> {
  const session = await openFleetSession(config, 'tufota-agent check');
  let result: FleetCheckResult;
  try {
    result = await fleetCycle(session);
  } catch (error) {
    result = {
      checkedAt: new Date().toISOString(),
      action: 'none',
      reason: `the check failed: ${(error as Error).message}`,
      error: errorOf(error),
    };
  } finally {
    await session.close();
  }
  await saveLastCheck(config, result);
  return result;
}

/** `resume` in fleet mode: the boot step, then the manifest (what runs now). */
export async function fleetResumeCommand(
  config: AgentConfig,
): Promise<ResumeResult & { manifest?: FleetCycleReport['manifest'] }> {
  const session = await openFleetSession(config, 'tufota-agent resume');
  try {
    const result = await session.primary.resume();
    if (result.outcome === 'rebooting') return result;
    return { ...result, manifest: await sendManifest(session) };
  } finally {
    await session.close();
  }
}

/** The correlation id of the director targets last verified (for `status`). */
export { storedCorrelationId };

/**
 * `daemon` in fleet mode: resume, post the manifest, then a cycle per poll interval (back-off
 * after failures, a pending device included) until `signal` aborts or the agent hands over to
 * the reboot into its new image. `hooks` replace the configured reboot command and add health
 * checks (a simulator or an integrator's own process; the CLI passes none).
 *
 * @returns the exit code.
 */
export async function runFleetDaemon(
  config: AgentConfig,
  log: LogLine,
  signal: AbortSignal,
  hooks: FleetSessionHooks = {},
): Promise<number> {
  const session = await openFleetSession(config, 'tufota-agent daemon', hooks);
  const say: LogLine = (event, fields = {}) => {
    session.reporter.note(`${event} ${JSON.stringify(fields)}`);
    log(event, fields);
  };
  say('started', { pid: process.pid, stateDir: config.stateDir, deviceId: session.fleet.deviceId });
  try {
    const resumed = await session.primary.resume();
    say('resumed', {
      outcome: resumed.outcome,
      ...(resumed.error ? { error: resumed.error } : {}),
    });
    if (resumed.outcome === 'rebooting' || signal.aborted) return 0;
    if (resumeExit(resumed) !== 0) say('warning', { message: 'the last update did not stick' });
    let failures = 0;
    let registered = false;
    while (!signal.aborted) {
      try {
        if (!registered) {
          const status = await session.register();
          say('registered', { status });
          if (status === 'pending') throw pendingError(session.fleet.deviceId);
          registered = true;
          say('manifest', { manifest: await sendManifest(session) });
        }
        const result = await fleetCycle(session, { resume: false, register: false });
        await saveLastCheck(config, result);
        say('checked', {
          action: result.action,
          reason: result.reason,
          ...(result.fleet ? { fleet: result.fleet } : {}),
        });
        if (result.action === 'install') return 0; // the agent called the reboot
        failures = 0;
      } catch (error) {
        if (signal.aborted) {
          say('interrupted', { message: (error as Error).message });
          break;
        }
        failures++;
        if (error instanceof FleetError && error.code === 'ERR_TUF_FLEET_DEVICE_PENDING') {
          registered = false;
        }
        say(
          error instanceof FleetError && error.code === 'ERR_TUF_FLEET_DEVICE_PENDING'
            ? 'pending'
            : 'error',
          {
            code: error instanceof TufError ? error.code : 'ERR_TUF',
            message: (error as Error).message,
            failures,
          },
        );
      }
      try {
        await sleep(nextDelaySeconds(config.poll, failures) * 1000, undefined, { signal });
      } catch {
        break; // aborted
      }
    }
    return 0;
  } finally {
    await session.close();
    log('stopped', {});
  }
}
