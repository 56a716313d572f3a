/**
 * `HttpReporter`: posts each agent event as JSON to a server (`POST url`, `content-type:
 * application/json`) with undici, bounded by a timeout, and never lets reporting block or fail
 * an update: errors go to `util.debuglog('tufota')` and are swallowed.
 *
 * Events that cannot be delivered are queued in a capped local file (a {@link FileReporter}) when
 * `queueFile` is given, and sent first, in order, the next time a post succeeds. The queue is
 * best effort: capped and rotated, so an offline device loses the oldest events, not its disk.
 *
 * Does not implement authentication beyond what headers carry (pass `headers`, or a dispatcher
 * with client certificates). Calls on one instance are serialized.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { type Dispatcher, request } from 'undici';
import type { ReportEvent, Reporter } from '../reporter.js';
import { FileReporter } from './file-reporter.js';

const debug = debuglog('tufota');

/** Options of {@link HttpReporter}. */
export interface HttpReporterOptions {
  /** Where to POST events. */
  url: string;
  /** Milliseconds per post (default 5000). */
  timeoutMs?: number;
  /** Extra request headers (e.g. an authorization token). */
  headers?: Record<string, string>;
  /** File queueing undelivered events (default: none, they are dropped). */
  queueFile?: string;
  /** Cap of the queue file (default 256 KiB). */
  queueMaxBytes?: number;
  /** undici dispatcher (proxy, mutual TLS). */
  dispatcher?: Dispatcher;
}

/**
 * Posts events as JSON.
 *
 * @example
 * ```ts
 * const reporter = new HttpReporter({
 *   url: 'https://fleet.example.com/devices/abc/events',
 *   queueFile: '/var/lib/tufota/agent/report-queue.jsonl',
 * });
 * ```
 */
export class HttpReporter implements Reporter {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #queue: FileReporter | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: HttpReporterOptions) {
    const parsed = new URL(options.url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`HttpReporter needs an http(s) URL, got ${parsed.protocol}`);
    }
    this.#url = parsed.href;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#headers = { ...options.headers, 'content-type': 'application/json' };
    this.#dispatcher = options.dispatcher;
    this.#queue =
      options.queueFile === undefined
        ? undefined
        : new FileReporter({
            file: options.queueFile,
            maxBytes: options.queueMaxBytes ?? 256 * 1024,
            maxFiles: 0,
          });
  }

  /** Post `event` (after any queued ones). Resolves within about two timeouts; never rejects. */
  report(event: ReportEvent): Promise<void> {
    const run = this.#chain.then(() => this.#deliver(event));
    this.#chain = run;
    return run;
  }

  async #deliver(event: ReportEvent): Promise<void> {
    try {
      if (this.#queue) {
        const queued = await this.#queue.readAll();
        // At least once: a failure part-way re-sends the earlier ones next time.
        for (const old of queued) await this.#post(old);
        if (queued.length > 0) await this.#queue.clear();
      }
      await this.#post(event);
    } catch (error) {
      debug('http reporter %s: %s', this.#url, (error as Error).message);
      await this.#queue?.report(event);
    }
  }

  async #post(event: ReportEvent): Promise<void> {
    const body = JSON.stringify(event);
    const response = await request(this.#url, {
      method: 'POST',
      headers: this.#headers,
      body,
      signal: AbortSignal.timeout(this.#timeoutMs),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    });
    await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`server answered ${response.statusCode}`);
    }
  }
}
