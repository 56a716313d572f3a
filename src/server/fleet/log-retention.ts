/**
 * Retention of deployment logs: `store.pruneLogs` with the configured policy (older than
 * `logs.retention`, beyond the newest `logs.keepPerDevice` chunks per device), once at start and
 * then every `logs.pruneInterval`. One run at a time; the timer is unref'd so it never keeps the
 * process alive, and a failed run is logged and retried at the next tick.
 *
 * @module
 */
import type { FleetStore } from '../store/fleet-store.js';
import type { FleetServerConfig } from './config.js';

/** The part of a logger this module uses (pino's). */
export interface RetentionLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Prune once with the configured policy; returns the number of chunks deleted. */
export function pruneOnce(
  store: FleetStore,
  config: Pick<FleetServerConfig, 'logRetentionMs' | 'logKeepPerDevice'>,
  now: Date,
): Promise<number> {
  return store.pruneLogs({
    olderThan: new Date(now.getTime() - config.logRetentionMs).toISOString(),
    keepPerDevice: config.logKeepPerDevice,
  });
}

/** Start pruning; `stop()` cancels the timer. */
export function startLogPruning(
  store: FleetStore,
  config: Pick<FleetServerConfig, 'logRetentionMs' | 'logKeepPerDevice' | 'logPruneIntervalMs'>,
  now: () => Date,
  log: RetentionLogger,
): { stop(): void; running(): Promise<void> } {
  let current: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    current = pruneOnce(store, config, now())
      .then(
        (deleted) => {
          if (deleted > 0) log.info({ deleted }, 'pruned deployment logs');
        },
        (error: unknown) => log.error({ err: error }, 'pruning deployment logs failed'),
      )
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, config.logPruneIntervalMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    running: () => current,
  };
}
