/**
 * `tufota-agent daemon`: the long-running device service.
 *
 * ```
 * take the state-directory lock (a second daemon: ERR_TUF_LOCKED, exit 3) ─▶ sd_notify READY
 * ─▶ resume() (conclude or continue what the journal says) ─▶ loop:
 *      refresh + select the release ─▶ explain (policy) ─▶ consent? ─▶ install (reboots)
 *      sleep interval + random jitter; after a failure, exponential back-off instead
 * SIGTERM/SIGINT: abort the transfer in progress (the journal keeps the verified prefix: the
 * next start resumes there), release the lock, exit 0.
 * ```
 *
 * One JSON line per event on stdout (journald keeps them); the agent's own reporter records
 * every phase as configured. No trust decisions here: the `UpdateAgent` makes them all.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TufError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { explain, LAST_CHECK_FILE, resumeExit, selectTarget } from './commands.js';
import type { AgentConfig } from './config.js';
import { openAgent } from './wiring.js';

/** Where the daemon's log lines go. */
export type LogLine = (event: string, fields?: Record<string, unknown>) => void;

/** The delay before the next poll: interval + jitter, or back-off after `failures` failures. */
export function nextDelaySeconds(
  poll: AgentConfig['poll'],
  failures: number,
  random: () => number = Math.random,
): number {
  const jitter = random() * poll.jitterSeconds;
  if (failures === 0) return poll.intervalSeconds + jitter;
  const backoff = Math.min(
    poll.maxBackoffSeconds,
    poll.intervalSeconds * 2 ** Math.min(failures, 30),
  );
  return Math.min(poll.maxBackoffSeconds, backoff + jitter);
}

/** Send `state` to systemd (`systemd-notify`), only when run under a notify unit. */
function sdNotify(...state: string[]): void {
  if (process.env.NOTIFY_SOCKET === undefined) return;
  // Run as root, systemd-notify sends with our pid (--pid), so systemd attributes it to the unit.
  execFile('systemd-notify', [`--pid=${process.pid}`, ...state], { timeout: 5_000 }, () => {});
}

/** Whether the configured consent allows installing `info` now. */
async function approved(config: AgentConfig, info: TargetFile): Promise<boolean> {
  const control = config.updateControl;
  if (control.mode === 'automatic') return true;
  if (control.approvalFile !== undefined) {
    if (
      await fs.stat(control.approvalFile).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  const command = control.approvalCommand;
  if (command === undefined) return false;
  const c = (info.custom ?? {}) as Record<string, unknown>;
  return new Promise((resolve) => {
    const [cmd, ...args] = command;
    execFile(
      cmd as string,
      args,
      {
        timeout: 60_000,
        env: {
          ...process.env,
          TUFOTA_TARGET: info.path,
          TUFOTA_VERSION: typeof c.version === 'string' ? c.version : '',
        },
      },
      (error) => resolve(error === null),
    );
  });
}

/**
 * Run the daemon until `signal` aborts (SIGTERM) or an install hands over to a reboot.
 *
 * @returns the exit code.
 * @throws LockHeldError when another agent holds the state directory.
 */
export async function runDaemon(
  config: AgentConfig,
  log: LogLine,
  signal: AbortSignal,
): Promise<number> {
  const session = await openAgent(config, 'tufota-agent daemon');
  sdNotify('--ready', 'STATUS=resuming');
  const watchdogUsec = Number(process.env.WATCHDOG_USEC ?? 0);
  const watchdog =
    watchdogUsec > 0
      ? setInterval(() => sdNotify('WATCHDOG=1'), Math.max(1000, watchdogUsec / 2000))
      : undefined;
  watchdog?.unref();
  log('started', { pid: process.pid, stateDir: config.stateDir });
  try {
    const resumed = await session.agent.resume({ signal });
    log('resumed', {
      outcome: resumed.outcome,
      ...(resumed.install?.write ? { write: resumed.install.write } : {}),
      ...(resumed.error ? { error: resumed.error } : {}),
    });
    if (resumed.outcome === 'rebooting' || signal.aborted) return 0;
    if (resumeExit(resumed) !== 0) log('warning', { message: 'the last update did not stick' });
    let failures = 0;
    while (!signal.aborted) {
      sdNotify('STATUS=checking');
      try {
        const info = await selectTarget(session.updater, config);
        const { installed } = await session.agent.state();
        const check = explain(
          info,
          installed,
          await session.slots.bootedSlot(),
          config,
          new Date(),
        );
        await writeFileAtomic(
          path.join(config.stateDir, LAST_CHECK_FILE),
          `${JSON.stringify(check)}\n`,
          { durable: false },
        );
        log('checked', {
          action: check.action,
          reason: check.reason,
          ...(check.target ? { target: check.target } : {}),
        });
        if (check.action === 'install' && info !== undefined) {
          if (!(await approved(config, info))) {
            log('awaiting-approval', { target: info.path });
          } else {
            sdNotify(`STATUS=installing ${info.path}`);
            log('installing', { target: info.path });
            const result = await session.agent.install(info, { signal });
            log('installed', { target: info.path, ...result });
            if (config.updateControl.mode === 'consent' && config.updateControl.approvalFile) {
              await fs.rm(config.updateControl.approvalFile, { force: true });
            }
            if (result.outcome === 'rebooting') return 0;
          }
        }
        failures = 0;
      } catch (error) {
        if (signal.aborted) {
          log('interrupted', { message: (error as Error).message });
          break;
        }
        failures++;
        log('error', {
          code: error instanceof TufError ? error.code : 'ERR_TUF',
          message: (error as Error).message,
          failures,
        });
      }
      const delay = nextDelaySeconds(config.poll, failures);
      sdNotify(`STATUS=idle, next check in ${Math.round(delay)} s`);
      try {
        await sleep(delay * 1000, undefined, { signal });
      } catch {
        break; // aborted
      }
    }
    return 0;
  } finally {
    if (watchdog !== undefined) clearInterval(watchdog);
    sdNotify('--stopping');
    await session.close();
    log('stopped', {});
  }
}
