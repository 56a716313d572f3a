/**
 * `FileReporter`: the agent's events as JSON lines appended to a local file, size-capped and
 * rotated (`events.jsonl` → `events.jsonl.1` → … `.N`), for devices that ship logs by other means
 * and for post-mortems. Also the queue of `HttpReporter` (events that could not be delivered).
 *
 * Each line is capped (`maxLineBytes`; the log tail is trimmed first), the file is rotated
 * before a line would push it past `maxBytes`, and at most `maxFiles` old files are kept. Lines
 * are appended with one `write` each (O_APPEND); a power cut may lose the last line, never an
 * earlier one.
 *
 * Never throws from {@link FileReporter.report}: failures go to `NODE_DEBUG=tufota`.
 * Calls on one instance are serialized; not safe across processes.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { debuglog } from 'node:util';
import type { ReportEvent, Reporter } from '../reporter.js';

const debug = debuglog('tufota');

/** Options of {@link FileReporter}. */
export interface FileReporterOptions {
  /** The file to append to. */
  file: string;
  /** Rotate before the file exceeds this (default 1 MiB). */
  maxBytes?: number;
  /** Rotated files kept (default 2). */
  maxFiles?: number;
  /** Longest line (default 16 KiB). */
  maxLineBytes?: number;
}

/** One JSON line for `event`, at most `maxLineBytes` long (log tail and message trimmed). */
export function eventLine(event: ReportEvent, maxLineBytes: number): string {
  let line = `${JSON.stringify(event)}\n`;
  if (Buffer.byteLength(line) <= maxLineBytes) return line;
  const trimmed: ReportEvent = { ...event, logTail: event.logTail?.slice(-3) };
  if (trimmed.error)
    trimmed.error = { ...trimmed.error, message: trimmed.error.message.slice(0, 512) };
  line = `${JSON.stringify(trimmed)}\n`;
  if (Buffer.byteLength(line) <= maxLineBytes) return line;
  const { logTail: _drop, ...bare } = trimmed;
  return `${JSON.stringify(bare).slice(0, maxLineBytes - 2)}\n`;
}

/**
 * Appends events as JSON lines.
 *
 * @example
 * ```ts
 * const reporter = new FileReporter({ file: '/var/log/tufota/events.jsonl' });
 * await reporter.report({ phase: 'committed', result: 'success' });
 * ```
 */
export class FileReporter implements Reporter {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #maxLine: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: FileReporterOptions) {
    this.file = options.file;
    this.#maxBytes = options.maxBytes ?? 1024 * 1024;
    this.#maxFiles = options.maxFiles ?? 2;
    this.#maxLine = Math.min(options.maxLineBytes ?? 16 * 1024, this.#maxBytes);
  }

  report(event: ReportEvent): Promise<void> {
    const run = this.#queue.then(() => this.#append(event));
    this.#queue = run.catch(() => {});
    return run.catch((error) => debug('file reporter %s: %s', this.file, (error as Error).message));
  }

  /** Read every event in the current file (not the rotated ones); unparsable lines are skipped. */
  async readAll(): Promise<ReportEvent[]> {
    const text = await fs.readFile(this.file, 'utf8').catch(() => '');
    const events: ReportEvent[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        events.push(JSON.parse(line) as ReportEvent);
      } catch {
        debug('file reporter %s: skipping a torn line', this.file);
      }
    }
    return events;
  }

  /** Remove the current file (after its events were delivered elsewhere). */
  clear(): Promise<void> {
    const run = this.#queue.then(() => fs.rm(this.file, { force: true }));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #append(event: ReportEvent): Promise<void> {
    const line = eventLine(event, this.#maxLine);
    const size = await fs.stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
    if (size > 0 && size + Buffer.byteLength(line) > this.#maxBytes) await this.#rotate();
    await fs.appendFile(this.file, line, { mode: 0o600 });
  }

  async #rotate(): Promise<void> {
    if (this.#maxFiles <= 0) {
      await fs.rm(this.file, { force: true });
      return;
    }
    await fs.rm(`${this.file}.${this.#maxFiles}`, { force: true });
    for (let n = this.#maxFiles - 1; n >= 1; n--) {
      await fs.rename(`${this.file}.${n}`, `${this.file}.${n + 1}`).catch(() => {});
    }
    await fs.rename(this.file, `${this.file}.1`);
  }
}
