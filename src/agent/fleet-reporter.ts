/**
 * `FleetReporter`: the agent's {@link Reporter} in fleet mode. Each `ReportEvent` is posted to
 * the fleet server's `POST /api/device/v1/events` with the device's credentials and the update's
 * correlation id (the director's, read from the verified director targets); on a failure and at
 * the end of an update (committed, rolled back, failed) the log tail is uploaded to
 * `POST /api/device/v1/logs` under the same correlation id.
 *
 * The log tail is what the agent attached to the event (its last log lines) followed by this
 * reporter's own record of the phases it saw in this process — so a commit, which the agent
 * reports without a tail, still uploads the story of the trial boot.
 *
 * Reporting never decides an update's outcome (the `Reporter` contract): every post is bounded by
 * the client's timeouts, and every error is swallowed (`util.debuglog('tufota')`). Events that
 * cannot be delivered are dropped; the signed manifest, posted after every cycle and boot, is the
 * record the server relies on. Calls are serialized so that events arrive in order.
 *
 * @module
 */
import { debuglog } from 'node:util';
import type { ReportEvent, Reporter } from '../device/reporter.js';

const debug = debuglog('tufota');

/** Lines of the tail kept and uploaded (the server accepts up to 1000 per chunk). */
export const FLEET_LOG_LINES = 200;
/** Longest line uploaded (the server accepts up to 4 KiB). */
export const FLEET_LOG_LINE_LENGTH = 2048;

/** Where a {@link FleetReporter} delivers (a `FleetClient`). */
export interface FleetEventSink {
  postEvent(event: Record<string, unknown>): Promise<void>;
  postLogs(correlationId: string, lines: readonly string[]): Promise<void>;
}

/** Options of {@link FleetReporter}. */
export interface FleetReporterOptions {
  sink: FleetEventSink;
  /** The director's correlation id of the update in flight, if any. */
  correlationId: () => Promise<string | undefined>;
  /** The clock of log lines (default: the system clock). */
  now?: () => Date;
}

const FINAL = new Set(['committed', 'rolledBack', 'failed', 'fellBack']);

function lineOf(event: ReportEvent, at: string): string {
  const parts = [
    event.at ?? at,
    `phase=${event.phase}`,
    ...(event.result !== undefined ? [`result=${event.result}`] : []),
    ...(event.target !== undefined ? [`target=${event.target.path}`] : []),
    ...(event.slot !== undefined ? [`slot=${event.slot}`] : []),
    ...(event.updateId !== undefined ? [`update=${event.updateId}`] : []),
    ...(event.error !== undefined ? [`error=${event.error.code}: ${event.error.message}`] : []),
  ];
  return parts.join(' ');
}

/**
 * Posts phase reports and log tails to the fleet server.
 *
 * @example
 * ```ts
 * const reporter = new FleetReporter({ sink: fleetClient, correlationId: async () => 'campaign-1' });
 * await reporter.report({ phase: 'committed', result: 'success' });
 * ```
 */
export class FleetReporter implements Reporter {
  readonly #sink: FleetEventSink;
  readonly #correlationId: () => Promise<string | undefined>;
  readonly #now: () => Date;
  readonly #lines: string[] = [];
  #chain: Promise<void> = Promise.resolve();

  constructor(options: FleetReporterOptions) {
    this.#sink = options.sink;
    this.#correlationId = options.correlationId;
    this.#now = options.now ?? (() => new Date());
  }

  /** Add a line of the agent program's own (a daemon event) to the tail. */
  note(line: string): void {
    this.#push(`${this.#now().toISOString()} ${line}`);
  }

  #push(line: string): void {
    this.#lines.push(line.slice(0, FLEET_LOG_LINE_LENGTH));
    if (this.#lines.length > FLEET_LOG_LINES) {
      this.#lines.splice(0, this.#lines.length - FLEET_LOG_LINES);
    }
  }

  /** Never rejects. */
  report(event: ReportEvent): Promise<void> {
    const run = this.#chain.then(() => this.#deliver(event));
    this.#chain = run;
    return run;
  }

  async #deliver(event: ReportEvent): Promise<void> {
    this.#push(lineOf(event, this.#now().toISOString()));
    let correlationId: string | undefined;
    try {
      correlationId = await this.#correlationId();
    } catch (error) {
      debug('fleet reporter: no correlation id: %s', (error as Error).message);
    }
    try {
      // The tail travels to the logs endpoint, not inside every event.
      const { logTail: _tail, ...rest } = event;
      await this.#sink.postEvent({
        ...rest,
        ...(correlationId !== undefined ? { correlationId } : {}),
      });
    } catch (error) {
      debug('fleet reporter: event %s not delivered: %s', event.phase, (error as Error).message);
    }
    if (event.result === 'failure' || FINAL.has(event.phase)) {
      const own = this.#lines;
      const attached = (event.logTail ?? []).map((l) => l.slice(0, FLEET_LOG_LINE_LENGTH));
      const lines = [...attached.filter((l) => !own.includes(l)), ...own].slice(-FLEET_LOG_LINES);
      try {
        await this.#sink.postLogs(correlationId ?? event.updateId ?? 'none', lines);
      } catch (error) {
        debug('fleet reporter: log tail not delivered: %s', (error as Error).message);
      }
    }
  }
}
