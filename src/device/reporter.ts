/**
 * How the device agent tells the outside world what it does: the {@link Reporter} interface
 * (adapters in `reporters/`: `HttpReporter` posts to a server, `FileReporter` appends JSON lines)
 * and the `node:diagnostics_channel` channels ({@link DEVICE_CHANNELS}) for in-process observers
 * (the CLI's progress output, the fault-injection tests).
 *
 * Reporting never decides the outcome of an update: the agent bounds every `report()` call and
 * swallows its errors (a device must update and roll back even when nobody listens).
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import type { JournalPhase, JournalTarget } from './journal.js';
import type { SlotName } from './slot-controller.js';

/** What an event is about, beyond the journal phases. */
export type ReportPhase =
  | JournalPhase
  /** `resume()` found nothing to do, or `checkAndInstall` found the target already installed. */
  | 'idle'
  /** A policy check refused the target before any byte was written. */
  | 'refused'
  /**
   * Fleet mode: the assignment needs the integrator's consent (`updateControl: consent`) and
   * did not get it; nothing was downloaded, the next cycle asks again.
   */
  | 'deferred'
  /** Health checks ran after a normal (non-update) boot; `warning` when only the network failed. */
  | 'boot'
  /**
   * The device booted a slot other than the committed one with no update in flight
   * (`ERR_TUF_UNEXPECTED_FALLBACK`); `target` is the release it left, `slot` the slot it runs.
   */
  | 'fellBack';

/** One report. */
export interface ReportEvent {
  phase: ReportPhase;
  /** The update id (journal) this event belongs to. */
  updateId?: string;
  /** The target concerned. */
  target?: JournalTarget;
  /** The committed version running before (or after a commit: now). */
  installedVersion?: string;
  /** The slot concerned, where the phase does not say (for `fellBack`: the slot running now). */
  slot?: SlotName;
  /**
   * How a step ended. `warning`: the step succeeded but something needs attention (a normal boot
   * that could not reach the update server).
   */
  result?: 'success' | 'failure' | 'pending' | 'warning';
  /** The failure, if any. */
  error?: { code: string; message: string };
  /** The agent's last log lines, attached to failures. */
  logTail?: string[];
  /** ISO 8601 time of the event (the agent's clock). */
  at?: string;
}

/**
 * Receives the agent's events. Implementations should not throw; the agent ignores failures
 * and bounds waiting anyway.
 *
 * @example
 * ```ts
 * const reporter: Reporter = { report: async (e) => console.log(e.phase, e.result ?? '') };
 * ```
 */
export interface Reporter {
  report(event: ReportEvent): Promise<void>;
}

/** A reporter that drops everything. */
export const NULL_REPORTER: Reporter = Object.freeze({ report: async () => {} });

/** Diagnostics channels the device side publishes on. */
export const DEVICE_CHANNELS = Object.freeze({
  /** `ReportEvent` each time the agent reports a phase. */
  phase: 'tufota:device:phase',
  /**
   * `{ step: string, ...detail }` at every step boundary of an update (`journal:writing`,
   * `invalidated`, `block`, `checkpoint`, `synced`, `verified`, `activated`, `reboot`,
   * `health-checked` (`{ boot: 'trial' | 'normal', ok, failed: [{ name, code, message }] }`),
   * `confirmed`, `floors-raised`, `fell-back`, …). Published synchronously, before the
   * next step starts: a subscriber sees the state exactly as persisted at that point (the
   * fault-injection tests kill the process there).
   */
  step: 'tufota:device:step',
});

const stepChannel = channel(DEVICE_CHANNELS.step);
const phaseChannel = channel(DEVICE_CHANNELS.phase);

/** Publish a step boundary (no-op without subscribers). */
export function publishStep(step: string, detail: Record<string, unknown> = {}): void {
  if (stepChannel.hasSubscribers) stepChannel.publish({ step, ...detail });
}

/** Publish a phase event (no-op without subscribers). */
export function publishPhase(event: ReportEvent): void {
  if (phaseChannel.hasSubscribers) phaseChannel.publish(event);
}
