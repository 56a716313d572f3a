/**
 * The composition root of `tufota-agent`: from an {@link AgentConfig} to the library's parts —
 * the slot controller, the TUF `Updater` (over an `HttpFetcher` with the configured TLS, or a
 * `BundleFetcher` for a USB bundle), health checks, the reboot command, and the `UpdateAgent`
 * (`createAgent`, which holds the state-directory lock). No trust logic lives here.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import { Updater } from '../client/updater.js';
import {
  commandCheck,
  createAgent,
  FileSlotController,
  GrubEnvSlotController,
  type HealthCheck,
  httpProbe,
  SlotProfile,
  systemdUnitCheck,
  type TargetSource,
  UbootEnvSlotController,
  type UpdateAgent,
} from '../device/index.js';
import type { SlotController } from '../device/slot-controller.js';
import { SlotError, UsageError } from '../errors.js';
import { FsMetadataStore } from '../storage/fs-metadata-store.js';
import { BundleFetcher } from '../transport/bundle-fetcher.js';
import { HttpFetcher } from '../transport/http-fetcher.js';
import type { HttpFetcherOptions } from '../transport/http-fetcher-options.js';
import type { AgentConfig, HealthCheckConfig } from './config.js';

/** The slot controller the configuration names. */
export async function openSlots(config: AgentConfig): Promise<SlotController> {
  const s = config.slots;
  const evidence = s.cmdlinePath !== undefined ? { evidence: { cmdlinePath: s.cmdlinePath } } : {};
  const slotDevices = s.devices;
  switch (s.type) {
    case 'file':
      return FileSlotController.create({ envPath: s.envPath, slotDevices, ...evidence });
    case 'grub':
      return GrubEnvSlotController.create({ grubenvPath: s.grubenvPath, slotDevices, ...evidence });
    default:
      return UbootEnvSlotController.create({
        slotDevices,
        ...evidence,
        ...(s.fwEnvConfig !== undefined ? { configPath: s.fwEnvConfig } : {}),
        ...(s.envCanary === true ? { envCanary: true } : {}),
        profile: s.type === 'uboot-rauc' ? SlotProfile.UbootRauc : SlotProfile.UbootMender,
      });
  }
}

async function readPem(file: string, field: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `config server.${field}: cannot read ${file}: ${(error as Error).message}`,
    );
  }
}

/** The HTTP options (TLS files read) of the configuration. */
export async function httpOptions(config: AgentConfig): Promise<HttpFetcherOptions> {
  const { ca, cert, key } = config.server;
  return {
    userAgent: 'tufota-agent',
    ...(ca !== undefined ? { ca: await readPem(ca, 'ca') } : {}),
    ...(cert !== undefined ? { cert: await readPem(cert, 'cert') } : {}),
    ...(key !== undefined ? { key: await readPem(key, 'key') } : {}),
  };
}

/** The metadata cache, seeded with `trustedRoot` on first use. */
export async function metadataStore(config: AgentConfig): Promise<FsMetadataStore> {
  const store = new FsMetadataStore(config.metadataDir);
  if ((await store.load('root')) !== undefined) return store;
  let root: Uint8Array;
  try {
    root = await fs.readFile(config.trustedRoot);
  } catch (error) {
    throw new UsageError(
      `config trustedRoot: cannot read ${config.trustedRoot}: ${(error as Error).message}`,
    );
  }
  return FsMetadataStore.init(config.metadataDir, root);
}

/** Where metadata and targets come from: the server, or a bundle file. */
export interface Source {
  updater: Updater;
  close(): Promise<void>;
}

/** A TUF client over the configured server, or over the bundle at `bundlePath`. */
export async function openSource(config: AgentConfig, bundlePath?: string): Promise<Source> {
  const store = await metadataStore(config);
  const fetcher =
    bundlePath !== undefined
      ? await BundleFetcher.create({ path: bundlePath })
      : new HttpFetcher(await httpOptions(config));
  try {
    const updater = await Updater.create({
      metadataBaseUrl: bundlePath !== undefined ? 'metadata/' : config.server.metadataUrl,
      targetBaseUrl: bundlePath !== undefined ? 'targets/' : config.server.targetsUrl,
      fetcher,
      metadataStore: store,
    });
    return { updater, close: () => fetcher.close() };
  } catch (error) {
    await fetcher.close();
    throw error;
  }
}

/** The library health check of a configured one. */
export function healthCheckOf(c: HealthCheckConfig): HealthCheck {
  const base: Partial<HealthCheck> = {
    ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
    ...(c.when !== undefined ? { when: c.when } : {}),
  };
  let check: HealthCheck;
  if ('command' in c) {
    const [cmd, ...args] = c.command;
    check = commandCheck(cmd as string, args, c.name !== undefined ? { name: c.name } : {});
  } else if ('systemdUnit' in c) check = systemdUnitCheck(c.systemdUnit);
  else check = httpProbe(c.httpProbe);
  return { ...check, ...(c.name !== undefined ? { name: c.name } : {}), ...base };
}

/** Run the configured reboot command (on a device it does not come back usefully). */
export function rebootWith(command: readonly string[]): () => Promise<void> {
  return () =>
    new Promise((resolve, reject) => {
      const [cmd, ...args] = command;
      execFile(cmd as string, args, { timeout: 60_000 }, (error) =>
        error
          ? reject(new SlotError(`reboot command ${command.join(' ')} failed: ${error.message}`))
          : resolve(),
      );
    });
}

/** An agent wired as the configuration says, and what to close after it. */
export interface AgentSession {
  agent: UpdateAgent;
  slots: SlotController;
  updater: Updater;
  /** The configured reboot command. */
  reboot(): Promise<void>;
  close(): Promise<void>;
}

/** A source whose image bytes come from a local file; the agent verifies them against `info`. */
function fileSource(updater: Updater, file: string): TargetSource {
  return {
    refresh: () => updater.refresh(),
    getTargetInfo: (p) => updater.getTargetInfo(p),
    openTarget: async (_info, options) => {
      const offset = options.offset ?? 0;
      return {
        offset,
        stream: createReadStream(file, { start: offset, highWaterMark: 1024 * 1024 }),
      };
    },
  };
}

/**
 * Open the agent (taking the state-directory lock: `ERR_TUF_LOCKED` if another holds it).
 *
 * @param purpose shown to a second agent refused (`tufota-agent daemon`).
 */
export async function openAgent(
  config: AgentConfig,
  purpose: string,
  options: { bundlePath?: string; imageFile?: string } = {},
): Promise<AgentSession> {
  const slots = await openSlots(config);
  const source = await openSource(config, options.bundlePath);
  try {
    const reboot = rebootWith(config.rebootCommand);
    const agent = await createAgent({
      slots,
      updater:
        options.imageFile !== undefined
          ? fileSource(source.updater, options.imageFile)
          : source.updater,
      hardwareId: config.hardwareId,
      stateDir: config.stateDir,
      lockPurpose: purpose,
      healthChecks: config.healthChecks.map(healthCheckOf),
      ...(config.healthCheckTimeoutMs !== undefined
        ? { healthCheckTimeoutMs: config.healthCheckTimeoutMs }
        : {}),
      tries: config.tries,
      reboot,
      ...(config.reportUrl !== undefined ? { reportUrl: config.reportUrl } : {}),
      ...(config.tuning !== undefined ? { tuning: config.tuning } : {}),
    });
    return {
      agent,
      slots,
      updater: source.updater,
      reboot,
      close: async () => {
        try {
          await agent.close();
        } finally {
          await source.close();
        }
      },
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}
