/**
 * Turns the update agent's step events (`DEVICE_CHANNELS.step`, published by `tufota/device` at
 * every step boundary) into narration lines and a progress bar, and keeps the counts the demo
 * checks its claims against (how many downloads were opened, bytes written, activations).
 *
 * The same handler serves the in-process agent (subscribed with {@link subscribeAgentSteps}) and
 * the agent process of the power-cut scenario, whose events arrive as JSON lines.
 *
 * Not safe for concurrent use: one agent at a time.
 *
 * @module
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DEVICE_CHANNELS } from 'tufota/device';
import { formatBytes, type Narrator } from './output.js';

/** One event of `DEVICE_CHANNELS.step`: `{ step, ...detail }`. */
export interface StepEvent {
  step: string;
  [detail: string]: unknown;
}

/** What the agent did since the last {@link AgentSteps.reset}. */
export interface StepStats {
  /** Image transfers opened, with the byte each started at. */
  downloadOffsets: number[];
  /** Bytes written to a slot (identical blocks skipped are not counted). */
  bytesWritten: number;
  /** Highest byte written so far in the current transfer. */
  writtenUpTo: number;
  /** Last durable checkpoint (the journal's resume point). */
  lastCheckpoint: number;
  /** Slots activated for a trial. */
  activated: string[];
  /** Slots rejected after failed health checks. */
  rejected: string[];
  /** Health-check verdicts. */
  healthChecks: boolean[];
}

function emptyStats(): StepStats {
  return {
    downloadOffsets: [],
    bytesWritten: 0,
    writtenUpTo: 0,
    lastCheckpoint: 0,
    activated: [],
    rejected: [],
    healthChecks: [],
  };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '?');

/**
 * Narrates agent steps.
 *
 * @example
 * ```ts
 * const steps = new AgentSteps(narrator);
 * const stop = subscribeAgentSteps((e) => steps.onStep(e));
 * steps.expectImage(info.length);
 * await agent.checkAndInstall(info.path);
 * stop();
 * ```
 */
export class AgentSteps {
  readonly #say: Narrator;
  #imageLength = 0;
  #slot = '?';
  #stats = emptyStats();
  /** Slots invalidated since the last reset (a resumed write invalidates again). */
  readonly #invalidated = new Set<string>();

  constructor(narrator: Narrator) {
    this.#say = narrator;
  }

  /** The length of the image the next transfer writes (for the progress bar). */
  expectImage(length: number): void {
    this.#imageLength = length;
  }

  /** Counts since the last reset. */
  get stats(): Readonly<StepStats> {
    return this.#stats;
  }

  /** Start counting afresh (at the start of a scenario). */
  reset(): void {
    this.#stats = emptyStats();
    this.#invalidated.clear();
  }

  /** Handle one event. */
  onStep(event: StepEvent): void {
    const say = this.#say;
    const stats = this.#stats;
    switch (event.step) {
      case 'resume':
        say.step(
          'agent',
          `resume(): journal says "${str(event.phase)}", booted slot ${str(event.booted)}`,
        );
        break;
      case 'policy-checked':
        say.step('agent', 'policy ok: built for this hardware, not below the anti-rollback floors');
        break;
      case 'invalidated':
        this.#slot = str(event.slot);
        say.step(
          'agent',
          this.#invalidated.has(this.#slot)
            ? `slot ${this.#slot} kept unbootable while its write resumes (every step is idempotent)`
            : `slot ${this.#slot} marked unbootable before its first byte is written`,
        );
        this.#invalidated.add(this.#slot);
        break;
      case 'download-opened': {
        const offset = num(event.offset);
        stats.downloadOffsets.push(offset);
        stats.writtenUpTo = offset;
        if (offset > 0) {
          say.step(
            'agent',
            `download resumes at byte ${offset.toLocaleString('en')} (HTTP Range): the ${formatBytes(offset)} already in the slot were re-hashed, not downloaded again`,
          );
        }
        say.startProgress(`write ${this.#slot}`, this.#imageLength, offset);
        break;
      }
      case 'block': {
        const end = num(event.position) + num(event.length);
        if (event.skipped !== true) stats.bytesWritten += num(event.length);
        stats.writtenUpTo = Math.max(stats.writtenUpTo, end);
        say.progress(end);
        break;
      }
      case 'checkpoint-synced':
        stats.lastCheckpoint = num(event.position);
        break;
      case 'synced':
        say.endProgress();
        break;
      case 'verified':
        say.step(
          'agent',
          `slot ${str(event.slot)} re-read after fsync: length and every hash match the signed metadata`,
        );
        break;
      case 'activated':
        stats.activated.push(str(event.slot));
        say.step(
          'agent',
          `slot ${str(event.slot)} activated for one trial boot (the commit point: one atomic boot-env write)`,
        );
        break;
      case 'reboot':
        say.step('agent', `reboot → slot ${str(event.slot)}`);
        break;
      case 'health-checked':
        stats.healthChecks.push(event.ok === true);
        say.step(
          'health',
          event.ok === true
            ? 'all checks passed (demo-app, update server reachable and metadata verified)'
            : 'a check FAILED: this slot must not be committed',
        );
        break;
      case 'confirmed':
        if (event.slot !== undefined) {
          say.step(
            'agent',
            `slot ${str(event.slot)} confirmed: the bootloader stops counting tries`,
          );
        }
        break;
      case 'floors-raised':
        say.step(
          'agent',
          'anti-rollback floors raised to this release (only now, after confirming)',
        );
        break;
      case 'rejected':
        stats.rejected.push(str(event.slot));
        say.step(
          'agent',
          `slot ${str(event.slot)} rejected: the next boot falls back to the other slot`,
        );
        break;
      case 'trial-cancelled':
        say.step('agent', 'pending trial cancelled');
        break;
      default:
        // journal:<phase>, checkpoints and the rest: not worth a line each.
        break;
    }
  }
}

/** Subscribe `handler` to the agent's step channel in this process; returns the unsubscriber. */
export function subscribeAgentSteps(handler: (event: StepEvent) => void): () => void {
  const listener = (message: unknown): void => {
    if (typeof message === 'object' && message !== null && 'step' in message) {
      handler(message as StepEvent);
    }
  };
  subscribe(DEVICE_CHANNELS.step, listener);
  return () => {
    unsubscribe(DEVICE_CHANNELS.step, listener);
  };
}
