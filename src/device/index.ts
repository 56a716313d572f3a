/**
 * `tufota/device`: the device side of an update. The composition root of the device subpath: it
 * re-exports the boot-slot contract and adapters, the {@link UpdateAgent} with its journal,
 * policy, health checks and reporters, and wires defaults ({@link createAgent}: a TUF `Updater`
 * with `HttpFetcher` + `FsMetadataStore`, an `FsJournalStore`, a `FileReporter` or an
 * `HttpReporter`, `systemctl reboot`).
 *
 * @module
 */
import * as path from 'node:path';
import { type CreateUpdaterOptions, createUpdater } from '../client/index.js';
import { InvalidStateError } from '../errors.js';
import { HttpFetcher } from '../transport/http-fetcher.js';
import { type TargetSource, UpdateAgent, type UpdateAgentOptions } from './agent.js';
import type { Reporter } from './reporter.js';
import { FileReporter } from './reporters/file-reporter.js';
import { HttpReporter } from './reporters/http-reporter.js';

export { FsJournalStore, INSTALLED_FILE, JOURNAL_FILE } from '../storage/fs-journal-store.js';
export {
  type LockHolder,
  PidLock,
  type PidLockOptions,
  readLockHolder,
} from '../storage/pid-lock.js';
export {
  AGENT_LOCK_FILE,
  type AgentState,
  type InstallOptions,
  type InstallResult,
  type ResumeResult,
  type TargetSource,
  UpdateAgent,
  type UpdateAgentOptions,
} from './agent.js';
export {
  assertHealthChecks,
  type BootKind,
  type CommandCheckOptions,
  commandCheck,
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  type HealthCheck,
  type HealthCheckFailure,
  type HealthCheckResult,
  type HealthCheckWhen,
  type HttpProbeOptions,
  healthCheckFailures,
  healthChecksFor,
  httpProbe,
  type RefreshableSource,
  runHealthChecks,
  systemdUnitCheck,
  UPDATE_SERVER_CHECK_NAME,
  updateServerCheck,
} from './health-checks.js';
export {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_CHECKPOINT_BYTES,
  type ImageStream,
  type OpenImage,
  verifySlotImage,
  type WriteImageOptions,
  type WriteImageResult,
  type WriteTuning,
  writeImage,
} from './install.js';
export {
  advanceJournal,
  type Floors,
  type InstalledState,
  isTerminalPhase,
  type Journal,
  type JournalError,
  JournalPhase,
  type JournalStore,
  type JournalTarget,
  journalTargetOf,
  MAX_JOURNAL_BYTES,
  newJournal,
  parseInstalled,
  parseJournal,
  sameTarget,
  serializeInstalled,
  serializeJournal,
  TERMINAL_PHASES,
} from './journal.js';
export {
  checkCompatibility,
  checkNotDowngrade,
  checkTargetConventions,
  type PolicyTarget,
  raiseFloors,
  type UpdatePolicy,
} from './policy.js';
export {
  DEVICE_CHANNELS,
  NULL_REPORTER,
  type ReportEvent,
  type Reporter,
  type ReportPhase,
} from './reporter.js';
export { FileReporter, type FileReporterOptions } from './reporters/file-reporter.js';
export { HttpReporter, type HttpReporterOptions } from './reporters/http-reporter.js';
export * from './slot-controller.js';
export * from './slots/index.js';

/** Options of {@link createAgent}. */
export interface CreateAgentOptions
  extends Omit<UpdateAgentOptions, 'updater' | 'reporter' | 'stateDir' | 'journalStore'> {
  /** Directory of the journal, installed state and local event log. */
  stateDir: string;
  /** A ready TUF client (or other verified source)… */
  updater?: TargetSource;
  /** …or the options to build the default one (`createUpdater`). */
  client?: CreateUpdaterOptions;
  /** POST events here (`HttpReporter`, undelivered events queued in `stateDir`). */
  reportUrl?: string;
  /** Use this reporter instead (overrides `reportUrl`). */
  reporter?: Reporter;
}

/**
 * An {@link UpdateAgent} with the default adapters. Without `reportUrl` or `reporter`, events are
 * appended to `<stateDir>/events.jsonl` (capped, rotated). With `client` (and no
 * `client.fetcher`), the `HttpFetcher` built here belongs to the agent: `agent.close()` closes it.
 *
 * @throws InvalidStateError unless exactly one of `updater` and `client` is given.
 *
 * @example
 * ```ts
 * import { createAgent, UbootEnvSlotController, systemdUnitCheck } from 'tufota/device';
 * const agent = await createAgent({
 *   slots: await UbootEnvSlotController.create({ slotDevices: { A: '/dev/mmcblk0p2', B: '/dev/mmcblk0p3' } }),
 *   hardwareId: 'board-rev-b',
 *   stateDir: '/var/lib/tufota/agent',
 *   client: {
 *     metadataDir: '/var/lib/tufota/metadata',
 *     metadataBaseUrl: 'https://updates.example.com/metadata/',
 *     targetBaseUrl: 'https://updates.example.com/targets/',
 *   },
 *   healthChecks: [systemdUnitCheck('myapp.service')],
 *   reportUrl: 'https://fleet.example.com/devices/0042/events',
 * });
 * await agent.resume();
 * // … and on shutdown:
 * await agent.close();
 * ```
 */
export async function createAgent(options: CreateAgentOptions): Promise<UpdateAgent> {
  if ((options.updater === undefined) === (options.client === undefined)) {
    throw new InvalidStateError('createAgent needs exactly one of updater and client');
  }
  // Build the default HttpFetcher here rather than inside createUpdater: the Updater does not
  // expose it, and its keep-alive pool must be closed by someone — the agent, in close().
  let fetcher: HttpFetcher | undefined;
  let updater = options.updater;
  try {
    if (updater === undefined) {
      const client = options.client as CreateUpdaterOptions;
      if (client.fetcher === undefined) fetcher = new HttpFetcher(client.http);
      updater = await createUpdater(fetcher === undefined ? client : { ...client, fetcher });
    }
  } catch (error) {
    await fetcher?.close();
    throw error;
  }
  const reporter =
    options.reporter ??
    (options.reportUrl !== undefined
      ? new HttpReporter({
          url: options.reportUrl,
          queueFile: path.join(options.stateDir, 'report-queue.jsonl'),
        })
      : new FileReporter({ file: path.join(options.stateDir, 'events.jsonl') }));
  const { client: _client, reportUrl: _url, ...rest } = options;
  try {
    return await UpdateAgent.create({
      ...rest,
      updater,
      reporter,
      resources: [...(rest.resources ?? []), ...(fetcher !== undefined ? [fetcher] : [])],
    });
  } catch (error) {
    await fetcher?.close();
    throw error;
  }
}
