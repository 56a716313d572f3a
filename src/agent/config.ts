/**
 * The `tufota-agent` configuration file (`/etc/tufota/agent.json` by default): its schema, its
 * defaults, and a strict parser whose every error names the offending field
 * (`slots.devices.B: expected a non-empty string`). Unknown fields are errors too, so a typo
 * (`pollIntervalSecond`) is never silently ignored.
 *
 * Pure: text in, a validated {@link AgentConfig} or a `UsageError` out. Relative paths are
 * resolved against the config file's directory by {@link loadAgentConfig}.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors.js';

/** Where `tufota-agent` looks without `--config`. */
export const DEFAULT_CONFIG_PATH = '/etc/tufota/agent.json';

/** A health check as configured. */
export type HealthCheckConfig =
  | { name?: string; command: string[]; timeoutMs?: number; when?: 'trial' | 'always' }
  | { name?: string; systemdUnit: string; timeoutMs?: number; when?: 'trial' | 'always' }
  | { name?: string; httpProbe: string; timeoutMs?: number; when?: 'trial' | 'always' };

/** The slot controller and its options. */
export type SlotsConfig =
  | { type: 'file'; devices: { A: string; B: string }; envPath: string; cmdlinePath?: string }
  | { type: 'grub'; devices: { A: string; B: string }; grubenvPath: string; cmdlinePath?: string }
  | {
      type: 'uboot-mender' | 'uboot-rauc';
      devices: { A: string; B: string };
      fwEnvConfig?: string;
      cmdlinePath?: string;
      /**
       * Check at every boot that U-Boot loaded the environment Linux writes (the boot script must
       * pass `tufota.envseq=`, as the shipped `boot-scripts/` do); see the integrator guide.
       */
      envCanary?: boolean;
    };

/** The validated configuration, defaults applied. */
export interface AgentConfig {
  /** This device's hardware id (targets must list it in `custom.hardwareIds`). */
  hardwareId: string;
  /** The journal, installed state, lock, events log (default `/var/lib/tufota/agent`). */
  stateDir: string;
  /** The TUF metadata cache (default `<stateDir>/metadata`). */
  metadataDir: string;
  /** The root.json shipped with the image: seeds `metadataDir` on first start. */
  trustedRoot: string;
  server: {
    metadataUrl: string;
    targetsUrl: string;
    /** PEM file of the CA that signs the server certificate (replaces the system roots). */
    ca?: string;
    /** PEM files of the client certificate and key (mutual TLS). */
    cert?: string;
    key?: string;
  };
  /**
   * What to install: an exact target path, or a prefix ending in `/`: the newest release listed
   * (top-level targets) under it for this hardware id (highest `releaseCounter`, then version).
   */
  target: string;
  slots: SlotsConfig;
  /** Boot attempts of a new slot (default 1). */
  tries: number;
  healthChecks: HealthCheckConfig[];
  healthCheckTimeoutMs?: number;
  poll: { intervalSeconds: number; jitterSeconds: number; maxBackoffSeconds: number };
  updateControl:
    | { mode: 'automatic' }
    | { mode: 'consent'; approvalFile?: string; approvalCommand?: string[] };
  /** POST events here (default: `<stateDir>/events.jsonl`, JSON lines). */
  reportUrl?: string;
  /** The reboot command (default `systemctl reboot`). */
  rebootCommand: string[];
  /** Write tuning: block size and checkpoint distance in bytes. */
  tuning?: { blockSize?: number; checkpointBytes?: number };
}

type Json = Record<string, unknown>;

function fail(field: string, message: string): never {
  throw new UsageError(`config ${field}: ${message}`);
}

function object(value: unknown, field: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(field, 'expected an object');
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      fail(
        field === '' ? key : `${field}.${key}`,
        `unknown field (allowed: ${allowed.join(', ')})`,
      );
    }
  }
  return value as Json;
}

function str(obj: Json, key: string, field: string): string;
function str(obj: Json, key: string, field: string, optional: true): string | undefined;
function str(obj: Json, key: string, field: string, optional = false): string | undefined {
  const value = obj[key];
  const name = field === '' ? key : `${field}.${key}`;
  if (value === undefined) {
    if (optional) return undefined;
    fail(name, 'is required');
  }
  if (typeof value !== 'string' || value === '') fail(name, 'expected a non-empty string');
  return value;
}

/** An http(s) URL; `directory` ones get a trailing `/` (base URLs of metadata and targets). */
function url(obj: Json, key: string, field: string, directory = true): string {
  const value = str(obj, key, field);
  const name = field === '' ? key : `${field}.${key}`;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    fail(name, `not a URL: ${value}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    fail(name, 'expected an http: or https: URL');
  }
  return !directory || value.endsWith('/') ? value : `${value}/`;
}

function int(obj: Json, key: string, field: string, min: number, max: number): number | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  const name = field === '' ? key : `${field}.${key}`;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    fail(name, `expected an integer from ${min} to ${max}`);
  }
  return value as number;
}

function argv(value: unknown, field: string): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v !== '')
  ) {
    fail(field, 'expected a non-empty array of non-empty strings (program and arguments)');
  }
  return value as string[];
}

function when(obj: Json, field: string): { when?: 'trial' | 'always' } {
  if (obj.when === undefined) return {};
  if (obj.when !== 'trial' && obj.when !== 'always')
    fail(`${field}.when`, 'expected "trial" or "always"');
  return { when: obj.when };
}

function slotsOf(value: unknown): SlotsConfig {
  const raw = object(value, 'slots', [
    'type',
    'devices',
    'envPath',
    'grubenvPath',
    'fwEnvConfig',
    'envCanary',
    'cmdlinePath',
  ]);
  const type = raw.type;
  const devicesRaw = object(raw.devices, 'slots.devices', ['A', 'B']);
  const devices = {
    A: str(devicesRaw, 'A', 'slots.devices'),
    B: str(devicesRaw, 'B', 'slots.devices'),
  };
  const cmdlinePath = str(raw, 'cmdlinePath', 'slots', true);
  const common = { devices, ...(cmdlinePath !== undefined ? { cmdlinePath } : {}) };
  const only = (keys: string[]) => {
    for (const k of ['envPath', 'grubenvPath', 'fwEnvConfig', 'envCanary']) {
      if (!keys.includes(k) && raw[k] !== undefined)
        fail(`slots.${k}`, `not used by type "${String(type)}"`);
    }
  };
  switch (type) {
    case 'file':
      only(['envPath']);
      return { type, ...common, envPath: str(raw, 'envPath', 'slots') };
    case 'grub':
      only(['grubenvPath']);
      return { type, ...common, grubenvPath: str(raw, 'grubenvPath', 'slots') };
    case 'uboot-mender':
    case 'uboot-rauc': {
      only(['fwEnvConfig', 'envCanary']);
      const fwEnvConfig = str(raw, 'fwEnvConfig', 'slots', true);
      if (raw.envCanary !== undefined && typeof raw.envCanary !== 'boolean') {
        fail('slots.envCanary', 'expected true or false');
      }
      return {
        type,
        ...common,
        ...(fwEnvConfig !== undefined ? { fwEnvConfig } : {}),
        ...(raw.envCanary === true ? { envCanary: true } : {}),
      };
    }
    default:
      fail('slots.type', 'expected "file", "grub", "uboot-mender" or "uboot-rauc"');
  }
}

function healthCheckOf(value: unknown, field: string): HealthCheckConfig {
  const raw = object(value, field, [
    'name',
    'command',
    'systemdUnit',
    'httpProbe',
    'timeoutMs',
    'when',
  ]);
  const kinds = ['command', 'systemdUnit', 'httpProbe'].filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) fail(field, 'expected exactly one of command, systemdUnit, httpProbe');
  const name = str(raw, 'name', field, true);
  const timeoutMs = int(raw, 'timeoutMs', field, 1, 3_600_000);
  const extra = {
    ...(name !== undefined ? { name } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...when(raw, field),
  };
  if (raw.command !== undefined)
    return { command: argv(raw.command, `${field}.command`), ...extra };
  if (raw.systemdUnit !== undefined)
    return { systemdUnit: str(raw, 'systemdUnit', field), ...extra };
  return { httpProbe: url(raw, 'httpProbe', field, false), ...extra };
}

/**
 * Validate a parsed configuration document.
 *
 * @throws UsageError naming the field for every violation (the first one found).
 *
 * @example
 * ```ts
 * const config = parseAgentConfig(JSON.parse(text));
 * ```
 */
export function parseAgentConfig(value: unknown): AgentConfig {
  const raw = object(value, '', [
    '$schema',
    'hardwareId',
    'stateDir',
    'metadataDir',
    'trustedRoot',
    'server',
    'target',
    'slots',
    'tries',
    'healthChecks',
    'healthCheckTimeoutMs',
    'poll',
    'updateControl',
    'reportUrl',
    'rebootCommand',
    'tuning',
  ]);
  const stateDir = str(raw, 'stateDir', '', true) ?? '/var/lib/tufota/agent';
  const serverRaw = object(raw.server, 'server', [
    'url',
    'metadataUrl',
    'targetsUrl',
    'ca',
    'cert',
    'key',
  ]);
  let metadataUrl: string;
  let targetsUrl: string;
  if (serverRaw.url !== undefined) {
    if (serverRaw.metadataUrl !== undefined || serverRaw.targetsUrl !== undefined) {
      fail('server.url', 'give either url or metadataUrl + targetsUrl, not both');
    }
    const base = url(serverRaw, 'url', 'server');
    metadataUrl = `${base}metadata/`;
    targetsUrl = `${base}targets/`;
  } else {
    metadataUrl = url(serverRaw, 'metadataUrl', 'server');
    targetsUrl = url(serverRaw, 'targetsUrl', 'server');
  }
  const tls: AgentConfig['server'] = { metadataUrl, targetsUrl };
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v = str(serverRaw, k, 'server', true);
    if (v !== undefined) tls[k] = v;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    fail(
      tls.cert === undefined ? 'server.cert' : 'server.key',
      'cert and key go together (mutual TLS)',
    );
  }
  if (raw.healthChecks !== undefined && !Array.isArray(raw.healthChecks)) {
    fail('healthChecks', 'expected an array');
  }
  const healthChecks = ((raw.healthChecks as unknown[] | undefined) ?? []).map((c, i) =>
    healthCheckOf(c, `healthChecks[${i}]`),
  );
  const pollRaw = object(raw.poll ?? {}, 'poll', [
    'intervalSeconds',
    'jitterSeconds',
    'maxBackoffSeconds',
  ]);
  const intervalSeconds = int(pollRaw, 'intervalSeconds', 'poll', 1, 30 * 86_400) ?? 3600;
  const poll = {
    intervalSeconds,
    jitterSeconds:
      int(pollRaw, 'jitterSeconds', 'poll', 0, 86_400) ?? Math.floor(intervalSeconds / 10),
    maxBackoffSeconds: int(pollRaw, 'maxBackoffSeconds', 'poll', 1, 30 * 86_400) ?? 6 * 3600,
  };
  const controlRaw = object(raw.updateControl ?? { mode: 'automatic' }, 'updateControl', [
    'mode',
    'approvalFile',
    'approvalCommand',
  ]);
  let updateControl: AgentConfig['updateControl'];
  if (controlRaw.mode === 'automatic') {
    if (controlRaw.approvalFile !== undefined || controlRaw.approvalCommand !== undefined) {
      fail('updateControl', 'approvalFile and approvalCommand need mode "consent"');
    }
    updateControl = { mode: 'automatic' };
  } else if (controlRaw.mode === 'consent') {
    const approvalFile = str(controlRaw, 'approvalFile', 'updateControl', true);
    const approvalCommand =
      controlRaw.approvalCommand === undefined
        ? undefined
        : argv(controlRaw.approvalCommand, 'updateControl.approvalCommand');
    if (approvalFile === undefined && approvalCommand === undefined) {
      fail('updateControl', 'mode "consent" needs approvalFile or approvalCommand');
    }
    updateControl = {
      mode: 'consent',
      ...(approvalFile !== undefined ? { approvalFile } : {}),
      ...(approvalCommand !== undefined ? { approvalCommand } : {}),
    };
  } else {
    fail('updateControl.mode', 'expected "automatic" or "consent"');
  }
  const tuningRaw =
    raw.tuning === undefined
      ? undefined
      : object(raw.tuning, 'tuning', ['blockSize', 'checkpointBytes']);
  const blockSize = tuningRaw && int(tuningRaw, 'blockSize', 'tuning', 65_536, 64 * 1024 * 1024);
  if (blockSize !== undefined && blockSize % 4096 !== 0)
    fail('tuning.blockSize', 'expected a multiple of 4096');
  const checkpointBytes = tuningRaw && int(tuningRaw, 'checkpointBytes', 'tuning', 4096, 2 ** 40);
  const reportUrl = raw.reportUrl === undefined ? undefined : url(raw, 'reportUrl', '', false);
  const healthCheckTimeoutMs = int(raw, 'healthCheckTimeoutMs', '', 1, 3_600_000);
  return {
    hardwareId: str(raw, 'hardwareId', ''),
    stateDir,
    metadataDir: str(raw, 'metadataDir', '', true) ?? path.join(stateDir, 'metadata'),
    trustedRoot: str(raw, 'trustedRoot', ''),
    server: tls,
    target: str(raw, 'target', ''),
    slots: slotsOf(raw.slots),
    tries: int(raw, 'tries', '', 1, 100) ?? 1,
    healthChecks,
    ...(healthCheckTimeoutMs !== undefined ? { healthCheckTimeoutMs } : {}),
    poll,
    updateControl,
    ...(reportUrl !== undefined ? { reportUrl } : {}),
    rebootCommand:
      raw.rebootCommand === undefined
        ? ['systemctl', 'reboot']
        : argv(raw.rebootCommand, 'rebootCommand'),
    ...(tuningRaw !== undefined
      ? {
          tuning: {
            ...(blockSize !== undefined ? { blockSize } : {}),
            ...(checkpointBytes !== undefined ? { checkpointBytes } : {}),
          },
        }
      : {}),
  };
}

/** Resolve every path field against `dir` (the config file's directory). */
function resolvePaths(config: AgentConfig, dir: string): AgentConfig {
  const r = (p: string) => path.resolve(dir, p);
  const slots = {
    ...config.slots,
    devices: { A: r(config.slots.devices.A), B: r(config.slots.devices.B) },
  };
  if (slots.cmdlinePath !== undefined) slots.cmdlinePath = r(slots.cmdlinePath);
  if (slots.type === 'file') slots.envPath = r(slots.envPath);
  if (slots.type === 'grub') slots.grubenvPath = r(slots.grubenvPath);
  if (
    (slots.type === 'uboot-mender' || slots.type === 'uboot-rauc') &&
    slots.fwEnvConfig !== undefined
  ) {
    slots.fwEnvConfig = r(slots.fwEnvConfig);
  }
  const server = { ...config.server };
  for (const k of ['ca', 'cert', 'key'] as const)
    if (server[k] !== undefined) server[k] = r(server[k]);
  const control = config.updateControl;
  return {
    ...config,
    stateDir: r(config.stateDir),
    metadataDir: r(config.metadataDir),
    trustedRoot: r(config.trustedRoot),
    server,
    slots,
    updateControl:
      control.mode === 'consent' && control.approvalFile !== undefined
        ? { ...control, approvalFile: r(control.approvalFile) }
        : control,
  };
}

/**
 * Read, parse and validate the configuration file.
 *
 * @throws UsageError if it is missing, not JSON, or invalid (naming the field).
 */
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the configuration ${file}: ${(error as Error).message} (pass --config FILE)`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return resolvePaths(parseAgentConfig(value), path.dirname(path.resolve(file)));
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}
