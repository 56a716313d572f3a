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

/** How a fleet-mode device proves who it is (docs/fleet-server-api.md, "Provisioning modes"). */
export type FleetProvisioningConfig =
  /** Mutual TLS: the client certificate (CN = device id) and its key, PEM files. */
  | { mode: 'mtls'; cert: string; key: string }
  /** The device key was pre-authorized by an operator. */
  | { mode: 'device-key' }
  /** The device waits, pending, until an operator accepts it. */
  | { mode: 'manual' }
  /** A fleet-wide secret (air-gapped fleets only; the server needs `--unsafe-shared-key`). */
  | { mode: 'shared-key'; secretFile: string };

/** The `fleet` section: the agent is an Uptane primary of a `tufota server` fleet. */
export interface FleetConfig {
  /** The fleet server's base URL (its `/director/`, `/repo/` and `/api/device/v1/`). */
  url: string;
  /** This device (vehicle) id; with mtls, the certificate's CN. */
  deviceId: string;
  /** The primary ECU's serial (the director assigns images per serial). */
  ecuSerial: string;
  /** The ed25519 ECU key, PKCS#8 PEM; created (mode 0600) on first start if absent. */
  ecuKey: string;
  /** The director's root.json provisioned at the factory (the trust anchor). */
  directorRoot: string;
  /** The image repository's root.json provisioned at the factory. */
  imageRoot: string;
  /** PEM of the CA that signs the server's certificate (replaces the system roots). */
  ca?: string;
  provisioning: FleetProvisioningConfig;
  model?: string;
  hardwareRevision?: string;
  attributes?: Record<string, string>;
  /** Secondary ECUs reached over HTTP (`tufota` secondary servers), by base URL. */
  secondaries: string[];
  /** Add the "the fleet server answers GET /health" trial check (default true). */
  healthCheck: boolean;
  /** Milliseconds per request phase (connect, headers, body gaps); default 30 000. */
  timeoutMs: number;
  /**
   * Asked before installing a deployment whose update control is `consent`: the program and its
   * arguments, run with the request as JSON on stdin (`{correlationId, deviceId, images:
   * [{ecuSerial, targetPath, length}]}`) and in `TUFOTA_CORRELATION_ID`, `TUFOTA_DEVICE_ID`,
   * `TUFOTA_TARGETS` (space-separated paths). Exit status 0 = consent; anything else, or running
   * past {@link consentTimeoutMs}, defers the update to the next cycle. Absent: such
   * deployments are always deferred. Forced deployments never run it.
   */
  consentCommand?: string[];
  /** Milliseconds {@link consentCommand} may run before it is killed (a no); default 60 000. */
  consentTimeoutMs: number;
}

/** The validated configuration, defaults applied. */
export interface AgentConfig {
  /** This device's hardware id (targets must list it in `custom.hardwareIds`). */
  hardwareId: string;
  /** The journal, installed state, lock, events log (default `/var/lib/tufota/agent`). */
  stateDir: string;
  /** The TUF metadata cache (default `<stateDir>/metadata`). */
  metadataDir: string;
  /**
   * The root.json shipped with the image: seeds `metadataDir` on first start. In fleet mode, the
   * image repository's root (`fleet.imageRoot`).
   */
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
   * Empty in fleet mode: there the director assigns the image.
   */
  target: string;
  /** Fleet mode: present when the agent is an Uptane primary of a fleet server. */
  fleet?: FleetConfig;
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

/** The fleet server's identifier syntax (device ids and ECU serials). */
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

function fleetProvisioningOf(value: unknown): FleetProvisioningConfig {
  const field = 'fleet.provisioning';
  const raw = object(value, field, ['mode', 'cert', 'key', 'secretFile']);
  const only = (keys: string[]) => {
    for (const k of ['cert', 'key', 'secretFile']) {
      if (!keys.includes(k) && raw[k] !== undefined)
        fail(`${field}.${k}`, `not used by mode ${JSON.stringify(raw.mode)}`);
    }
  };
  switch (raw.mode) {
    case 'mtls':
      only(['cert', 'key']);
      return { mode: 'mtls', cert: str(raw, 'cert', field), key: str(raw, 'key', field) };
    case 'device-key':
    case 'manual':
      only([]);
      return { mode: raw.mode };
    case 'shared-key':
      only(['secretFile']);
      return { mode: 'shared-key', secretFile: str(raw, 'secretFile', field) };
    default:
      fail(`${field}.mode`, 'expected "mtls", "device-key", "manual" or "shared-key"');
  }
}

function fleetOf(value: unknown, stateDir: string): FleetConfig {
  const f = 'fleet';
  const raw = object(value, f, [
    'url',
    'deviceId',
    'ecuSerial',
    'ecuKey',
    'directorRoot',
    'imageRoot',
    'ca',
    'provisioning',
    'model',
    'hardwareRevision',
    'attributes',
    'secondaries',
    'healthCheck',
    'timeoutMs',
    'consentCommand',
    'consentTimeoutMs',
  ]);
  const deviceId = str(raw, 'deviceId', f);
  if (!DEVICE_ID.test(deviceId)) {
    fail('fleet.deviceId', 'expected 1-128 letters, digits, ".", "_", ":", "@" or "-"');
  }
  const ecuSerial = str(raw, 'ecuSerial', f);
  if (!DEVICE_ID.test(ecuSerial)) {
    fail('fleet.ecuSerial', 'expected 1-128 letters, digits, ".", "_", ":", "@" or "-"');
  }
  let attributes: Record<string, string> | undefined;
  if (raw.attributes !== undefined) {
    const a = raw.attributes;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) {
      fail('fleet.attributes', 'expected an object of string values');
    }
    attributes = {};
    for (const key of Object.keys(a)) attributes[key] = str(a as Json, key, 'fleet.attributes');
  }
  if (raw.secondaries !== undefined && !Array.isArray(raw.secondaries)) {
    fail('fleet.secondaries', 'expected an array of http(s) URLs');
  }
  const secondaries = ((raw.secondaries as unknown[] | undefined) ?? []).map((value, i) =>
    url({ [`secondaries[${i}]`]: value }, `secondaries[${i}]`, 'fleet', false),
  );
  if (raw.healthCheck !== undefined && typeof raw.healthCheck !== 'boolean') {
    fail('fleet.healthCheck', 'expected true or false');
  }
  const provisioning = fleetProvisioningOf(raw.provisioning);
  const serverUrl = url(raw, 'url', f);
  if (provisioning.mode === 'mtls' && !serverUrl.startsWith('https:')) {
    fail('fleet.url', 'mtls provisioning needs an https: URL');
  }
  const optional = (key: string) => {
    const v = str(raw, key, f, true);
    return v !== undefined ? { [key]: v } : {};
  };
  return {
    url: serverUrl,
    deviceId,
    ecuSerial,
    ecuKey: str(raw, 'ecuKey', f, true) ?? path.join(stateDir, 'ecu-key.pem'),
    directorRoot: str(raw, 'directorRoot', f),
    imageRoot: str(raw, 'imageRoot', f),
    ...optional('ca'),
    provisioning,
    ...optional('model'),
    ...optional('hardwareRevision'),
    ...(attributes !== undefined ? { attributes } : {}),
    secondaries,
    healthCheck: raw.healthCheck !== false,
    timeoutMs: int(raw, 'timeoutMs', f, 100, 600_000) ?? 30_000,
    ...(raw.consentCommand !== undefined
      ? { consentCommand: argv(raw.consentCommand, 'fleet.consentCommand') }
      : {}),
    consentTimeoutMs: int(raw, 'consentTimeoutMs', f, 100, 3_600_000) ?? 60_000,
  };
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
    'fleet',
  ]);
  const stateDir = str(raw, 'stateDir', '', true) ?? '/var/lib/tufota/agent';
  if (raw.fleet !== undefined) {
    // The fleet section names the server and its roots; the director decides what to install.
    for (const key of ['server', 'target', 'trustedRoot', 'reportUrl']) {
      if (raw[key] !== undefined) {
        fail(
          key,
          'not used with a fleet section (fleet.url, the director and fleet.imageRoot replace it)',
        );
      }
    }
    const fleet = fleetOf(raw.fleet, stateDir);
    if ((raw.updateControl as Json | undefined)?.mode === 'consent') {
      fail(
        'updateControl.mode',
        'not used in fleet mode: each deployment says whether the device asks for consent, and fleet.consentCommand answers',
      );
    }
    const rest = parseAgentConfig({
      ...raw,
      fleet: undefined,
      server: { url: `${fleet.url}repo/` },
      target: 'fleet',
      trustedRoot: fleet.imageRoot,
    });
    return {
      ...rest,
      server: { ...rest.server, ...(fleet.ca !== undefined ? { ca: fleet.ca } : {}) },
      target: '',
      fleet,
    };
  }
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

function resolveFleetPaths(fleet: FleetConfig, r: (p: string) => string): FleetConfig {
  const p = fleet.provisioning;
  return {
    ...fleet,
    ecuKey: r(fleet.ecuKey),
    directorRoot: r(fleet.directorRoot),
    imageRoot: r(fleet.imageRoot),
    ...(fleet.ca !== undefined ? { ca: r(fleet.ca) } : {}),
    provisioning:
      p.mode === 'mtls'
        ? { ...p, cert: r(p.cert), key: r(p.key) }
        : p.mode === 'shared-key'
          ? { ...p, secretFile: r(p.secretFile) }
          : p,
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
  const fleet = config.fleet === undefined ? undefined : resolveFleetPaths(config.fleet, r);
  if (fleet !== undefined && fleet.ca !== undefined) server.ca = fleet.ca;
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
    ...(fleet !== undefined ? { fleet } : {}),
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
