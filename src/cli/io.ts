/**
 * The CLI's terminal: where results (stdout), messages and progress (stderr) go, whether output
 * is JSON, and password prompts.
 *
 * Conventions: results go to stdout — a human table, or one JSON document with `--json` — so
 * `tufota status --json | jq` works; everything else (progress bars, warnings, prompts) goes to
 * stderr. Progress bars are drawn only when stderr is a terminal and `--json` is off, so CI logs
 * stay clean.
 *
 * Adapter (process streams and the TTY). Not safe for concurrent use: one command at a time.
 *
 * @module
 */
import { ReadStream } from 'node:tty';

/** Streams and environment a command runs with (tests substitute their own). */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** True with `--json`. */
  json: boolean;
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    json: false,
  };
}

/** Print a command's result: `value` as JSON with `--json`, else the human `text`. */
export function printResult(io: Io, value: unknown, text: string | (() => string)): void {
  if (io.json) {
    io.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
    return;
  }
  const body = typeof text === 'function' ? text() : text;
  if (body !== '') io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
}

/** A note on stderr (suppressed with `--json`, whose consumers read stdout only). */
export function note(io: Io, message: string): void {
  if (!io.json) io.stderr.write(`${message}\n`);
}

/** A warning on stderr, shown even with `--json`. */
export function warn(io: Io, message: string): void {
  io.stderr.write(`warning: ${message}\n`);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/** A progress bar on stderr; a no-op unless stderr is a TTY and output is not JSON. */
export interface Progress {
  /** Add `delta` units of work done. */
  tick(delta: number): void;
  /** Clear the bar. */
  done(): void;
}

const NO_PROGRESS: Progress = { tick() {}, done() {} };

/** Minimum interval between redraws, so a fast hash loop is not slowed by terminal writes. */
const REDRAW_MS = 100;

/**
 * A byte-count progress bar: `label [#####     ] 45% 450 MiB/1.0 GiB`.
 *
 * @example
 * ```ts
 * const bar = progressBar(io, 'hashing fw.img', size);
 * for await (const chunk of stream) bar.tick(chunk.byteLength);
 * bar.done();
 * ```
 */
export function progressBar(io: Io, label: string, total: number): Progress {
  if (io.json || io.stderr.isTTY !== true || total <= 0) return NO_PROGRESS;
  let done = 0;
  let last = 0;
  const draw = () => {
    const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - label.length - 30));
    const ratio = Math.min(1, done / total);
    const filled = Math.round(ratio * width);
    io.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)}`,
    );
  };
  return {
    tick(delta: number) {
      done += delta;
      const now = performance.now();
      if (now - last >= REDRAW_MS || done >= total) {
        last = now;
        draw();
      }
    },
    done() {
      io.stderr.write('\r\u001b[K');
    },
  };
}

/** `1.5 GiB`, `300 KiB`, `12 B`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Wrap a byte stream so each chunk advances `progress`. */
export async function* withProgress(
  source: AsyncIterable<Uint8Array>,
  progress: Progress,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of source) {
      progress.tick(chunk.byteLength);
      yield chunk;
    }
  } finally {
    progress.done();
  }
}

/** Longest password read from the terminal. */
const MAX_PASSWORD_LENGTH = 1024;

/**
 * Ask for a secret on the terminal without echoing it. Returns `undefined` when stdin is not a
 * terminal (scripts must use the environment variable instead).
 */
export async function promptSecret(io: Io, question: string): Promise<string | undefined> {
  const stdin = io.stdin;
  if (stdin.isTTY !== true || !(stdin instanceof ReadStream)) return undefined;
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let secret = '';
      const onData = (data: Buffer) => {
        for (const char of data.toString('utf8')) {
          if (char === '\r' || char === '\n' || char === '\u0004') {
            stdin.off('data', onData);
            io.stderr.write('\n');
            resolve(secret);
            return;
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            io.stderr.write('\n');
            reject(new Error('interrupted'));
            return;
          }
          if (char === '\u007f' || char === '\b') secret = secret.slice(0, -1);
          else if (secret.length < MAX_PASSWORD_LENGTH) secret += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
