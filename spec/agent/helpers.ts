/**
 * Helpers of the `tufota-agent` end-to-end tests: run the compiled program (`node
 * dist/src/agent/main.js`) as a device would, each process bounded by a timeout; follow a
 * daemon's JSON-lines log; spawn `tufota serve`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { PASSWORD, ROOT } from '../cli/helpers.js';

export const AGENT = path.join(ROOT, 'dist', 'src', 'agent', 'main.js');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** The outcome of one run. */
export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON output read by assertions.
  json: any;
}

/** Run `tufota-agent ARGS` to completion (killed after `timeoutMs`). */
export function agent(args: string[], timeoutMs = 60_000): Promise<AgentRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [AGENT, ...args],
      { env: { PATH: process.env.PATH }, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {}
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

/** A running daemon whose log lines (JSON) are collected. */
export interface Daemon {
  child: ChildProcess;
  // biome-ignore lint/suspicious/noExplicitAny: JSON log lines read by assertions.
  events: any[];
  stderr(): string;
  /** Resolve with the first event matching, failing after `timeoutMs` or if the daemon exits. */
  // biome-ignore lint/suspicious/noExplicitAny: JSON log lines read by assertions.
  waitFor(match: (event: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Resolve with the exit code (SIGKILL after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<number | null>;
}

/** Start `tufota-agent daemon --config FILE`. */
export function startDaemon(config: string): Daemon {
  const child = spawn(process.execPath, [AGENT, 'daemon', '--config', config], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON log lines.
  const events: any[] = [];
  let buffer = '';
  let errText = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        events.push({ event: 'unparsed', line });
      }
      nl = buffer.indexOf('\n');
    }
    for (const l of listeners) l();
  });
  child.stderr?.on('data', (d: Buffer) => {
    errText += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    events,
    stderr: () => errText,
    waitFor(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found !== undefined) {
            cleanup();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no matching daemon event in ${timeoutMs} ms: ${JSON.stringify(events)}\n${errText}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exit.then(() => {
          setImmediate(() => {
            check();
            if (listeners.has(check)) {
              cleanup();
              reject(new Error(`daemon exited: ${JSON.stringify(events)}\n${errText}`));
            }
          });
        });
        check();
      });
    },
    exited(timeoutMs = 60_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      return exit.finally(() => clearTimeout(timer));
    },
  };
}

/** `tufota serve DIR --port 0`: resolves with the URL and a stop function. */
export async function serve(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0', '--json'], {
    env: { PATH: process.env.PATH, TUFOTA_KEY_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
    // The first line is the start record; with --json every request adds an access-log line.
    const onData = (d: Buffer) => {
      out += d.toString();
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume(); // keep draining the access log
      try {
        resolve((JSON.parse(out.slice(0, newline)) as { url: string }).url);
      } catch (error) {
        reject(error);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  return {
    url,
    stop: async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
