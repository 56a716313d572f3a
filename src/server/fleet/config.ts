/**
 * Configuration of the fleet server (`tufota server init|start --config FILE`): a JSON file,
 * then `TUFOTA_SERVER_*` environment variables over it, then command-line flags over both.
 * Relative paths in the file are resolved against the file's directory; paths under the data
 * directory default to fixed names inside it (`fleet.db`, `director-keys/`, `ca/`, `tls/`).
 *
 * Every option is listed in {@link CONFIG_HELP} (shown by `tufota server --help`) and in
 * docs/fleet-server.md.
 *
 * Reads files and `process.env` only when asked (`loadFleetConfig`). Safe for concurrent use.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../errors.js';
import type { ProvisioningMode } from '../store/fleet-store.js';

/** Log levels of the server's structured (pino) log. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const MODES: readonly ProvisioningMode[] = ['mtls', 'device-key', 'manual', 'shared-key'];

/** The resolved configuration (every path absolute, every default filled in). */
export interface FleetServerConfig {
  /** The file it was read from. */
  configFile: string;
  host: string;
  port: number;
  dataDir: string;
  database: { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string };
  /** The image repository directory served under `/repo/` (a `tufota init` repository). */
  repositoryDir: string;
  /**
   * The image repository's root the server trusts when it looks targets up for assignments
   * (default `<repositoryDir>/metadata/1.root.json`: trust on first use of the served copy).
   */
  repositoryTrustedRoot: string;
  provisioningModes: ProvisioningMode[];
  /** TLS: the server's certificate and key (HTTPS when set; needed by the `mtls` mode). */
  tls?: { cert: string; key: string };
  /** The device CA certificate client certificates must chain to (`mtls` mode). */
  deviceCa: string;
  /** The device CA's own directory (`tufota server ca`): `ca.key`, `ca.crt`. */
  caDir: string;
  directorKeysDir: string;
  deviceTokenTtlMs: number;
  challengeTtlMs: number;
  /** Log chunks older than this are pruned (default 30 days). */
  logRetentionMs: number;
  /** At most this many log chunks are kept per device (default 1000). */
  logKeepPerDevice: number;
  /** How often pruning runs (default hourly). */
  logPruneIntervalMs: number;
  /** Largest JSON body of ordinary endpoints (default 64 KiB). */
  bodyLimit: number;
  /** Time allowed for a whole request to arrive (default 30 s). */
  requestTimeoutMs: number;
  /** Idle time after which a connection is closed (default 60 s). */
  connectionTimeoutMs: number;
  logLevel: LogLevel;
  /** Take client addresses from `X-Forwarded-For` (only behind a proxy you run). */
  trustProxy: boolean;
}

/** What `--help` and the operator guide show. */
export const CONFIG_HELP = [
  'configuration file (JSON; relative paths are relative to the file) and its environment variables:',
  '  host                 TUFOTA_SERVER_HOST          interface (default 127.0.0.1)',
  '  port                 TUFOTA_SERVER_PORT          TCP port (default 8443; 0 picks a free one)',
  '  dataDir              TUFOTA_SERVER_DATA_DIR      data directory (default: beside the config file, "data")',
  '  database.path        TUFOTA_SERVER_DATABASE_PATH SQLite file (default DATA/fleet.db)',
  '  database.url         TUFOTA_SERVER_DATABASE_URL  postgres://… (uses PostgreSQL instead of SQLite)',
  '  repository.dir       TUFOTA_SERVER_REPOSITORY_DIR image repository served under /repo/ (required)',
  '  repository.trustedRoot                           root.json trusted for assignments (default REPO/metadata/1.root.json)',
  '  provisioning.modes   TUFOTA_SERVER_PROVISIONING_MODES  comma list of mtls, device-key, manual (default device-key)',
  '  provisioning.deviceCa                            device CA certificate for mtls (default DATA/ca/ca.crt)',
  '  tls.cert, tls.key    TUFOTA_SERVER_TLS_CERT/_KEY server certificate and key: HTTPS (required by mtls)',
  '  tokens.deviceTokenTtl                            device token lifetime (default 15m)',
  '  tokens.challengeTtl                              challenge lifetime (default 60s)',
  '  logs.retention       TUFOTA_SERVER_LOG_RETENTION  deployment logs kept this long (default 30d)',
  '  logs.keepPerDevice                               newest log chunks kept per device (default 1000)',
  '  logs.pruneInterval                               how often old logs are pruned (default 1h)',
  '  limits.body                                      JSON body limit in bytes (default 65536)',
  '  limits.requestTimeout, limits.connectionTimeout  (default 30s, 60s)',
  '  logLevel             TUFOTA_SERVER_LOG_LEVEL     fatal|error|warn|info|debug|trace|silent (default info)',
  '  trustProxy                                       take client addresses from X-Forwarded-For (default false)',
  'durations: 90d, 12h, 30m, 45s',
].join('\n');

type Json = Record<string, unknown>;

function section(value: unknown, name: string): Json {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`config: ${name} must be an object`);
  }
  return value as Json;
}

function str(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new UsageError(`config: ${name} must be a non-empty string`);
  }
  return value;
}

function int(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`config: ${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90d`, `12h`, `30m`, `45s` → milliseconds. */
export function parseConfigDuration(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? /^(\d{1,9})(s|m|h|d)$/.exec(value) : null;
  if (m === null || Number(m[1]) === 0) {
    throw new UsageError(`config: ${name} must be a duration such as 30d, 12h, 30m or 45s`);
  }
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

function known(obj: Json, keys: string[], name: string): void {
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) {
      throw new UsageError(`config: unknown option ${name}${key} (known: ${keys.join(', ')})`);
    }
  }
}

/** Options given on the command line, which win over file and environment. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  logLevel?: string;
}

/**
 * Read and resolve the configuration.
 *
 * @throws UsageError naming the option that is wrong, or the file that cannot be read.
 *
 * @example
 * ```ts
 * const config = await loadFleetConfig('/etc/tufota/server.json', process.env);
 * ```
 */
export async function loadFleetConfig(
  configFile: string,
  env: Record<string, string | undefined>,
  overrides: ConfigOverrides = {},
): Promise<FleetServerConfig> {
  const file = path.resolve(configFile);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the server config ${file}: ${(error as Error).message}`, {
      hint: 'tufota server init --config FILE writes one',
    });
  }
  return resolveFleetConfig(raw, file, env, overrides);
}

/** Resolve a parsed configuration object (see {@link loadFleetConfig}). */
export function resolveFleetConfig(
  raw: unknown,
  configFile: string,
  env: Record<string, string | undefined>,
  overrides: ConfigOverrides = {},
): FleetServerConfig {
  const top = section(raw, 'the configuration');
  known(
    top,
    [
      'host',
      'port',
      'dataDir',
      'database',
      'repository',
      'provisioning',
      'tls',
      'tokens',
      'logs',
      'limits',
      'logLevel',
      'trustProxy',
    ],
    '',
  );
  const base = path.dirname(configFile);
  const abs = (p: string, from = base) => path.resolve(from, p);
  const database = section(top.database, 'database');
  known(database, ['path', 'url'], 'database.');
  const repository = section(top.repository, 'repository');
  known(repository, ['dir', 'trustedRoot'], 'repository.');
  const provisioning = section(top.provisioning, 'provisioning');
  known(provisioning, ['modes', 'deviceCa'], 'provisioning.');
  const tls = section(top.tls, 'tls');
  known(tls, ['cert', 'key'], 'tls.');
  const tokens = section(top.tokens, 'tokens');
  known(tokens, ['deviceTokenTtl', 'challengeTtl'], 'tokens.');
  const logs = section(top.logs, 'logs');
  known(logs, ['retention', 'keepPerDevice', 'pruneInterval'], 'logs.');
  const limits = section(top.limits, 'limits');
  known(limits, ['body', 'requestTimeout', 'connectionTimeout'], 'limits.');

  const dataDir = abs(env.TUFOTA_SERVER_DATA_DIR ?? str(top.dataDir, 'dataDir') ?? 'data');
  const repoDirRaw = env.TUFOTA_SERVER_REPOSITORY_DIR ?? str(repository.dir, 'repository.dir');
  if (repoDirRaw === undefined) {
    throw new UsageError('config: repository.dir is required (the image repository directory)');
  }
  const repositoryDir = abs(repoDirRaw);
  const url = env.TUFOTA_SERVER_DATABASE_URL ?? str(database.url, 'database.url');
  const dbPath = env.TUFOTA_SERVER_DATABASE_PATH ?? str(database.path, 'database.path');
  const modesRaw =
    env.TUFOTA_SERVER_PROVISIONING_MODES?.split(',').map((m) => m.trim()) ??
    (provisioning.modes === undefined ? ['device-key'] : provisioning.modes);
  if (!Array.isArray(modesRaw) || modesRaw.length === 0) {
    throw new UsageError('config: provisioning.modes must be a non-empty list');
  }
  for (const mode of modesRaw) {
    if (!MODES.includes(mode as ProvisioningMode) || mode === 'shared-key') {
      throw new UsageError(
        `config: unknown provisioning mode ${JSON.stringify(mode)} (use mtls, device-key, manual; the shared key needs --unsafe-shared-key FILE)`,
      );
    }
  }
  const certRaw = env.TUFOTA_SERVER_TLS_CERT ?? str(tls.cert, 'tls.cert');
  const keyRaw = env.TUFOTA_SERVER_TLS_KEY ?? str(tls.key, 'tls.key');
  if ((certRaw === undefined) !== (keyRaw === undefined)) {
    throw new UsageError('config: tls.cert and tls.key go together');
  }
  const modes = [...new Set(modesRaw as ProvisioningMode[])];
  if (modes.includes('mtls') && certRaw === undefined) {
    throw new UsageError(
      'config: the mtls provisioning mode needs tls.cert and tls.key (tufota server ca issue --server HOST writes them)',
    );
  }
  const logLevel = overrides.logLevel ?? env.TUFOTA_SERVER_LOG_LEVEL ?? top.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(`config: logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  }
  if (top.trustProxy !== undefined && typeof top.trustProxy !== 'boolean') {
    throw new UsageError('config: trustProxy must be true or false');
  }
  return {
    configFile,
    host: overrides.host ?? env.TUFOTA_SERVER_HOST ?? str(top.host, 'host') ?? '127.0.0.1',
    port:
      overrides.port ??
      int(env.TUFOTA_SERVER_PORT ?? top.port, 'port (TUFOTA_SERVER_PORT)', 0, 65535) ??
      8443,
    dataDir,
    database:
      url !== undefined
        ? { driver: 'postgres', url }
        : { driver: 'sqlite', path: abs(dbPath ?? 'fleet.db', dataDir) },
    repositoryDir,
    repositoryTrustedRoot: abs(
      str(repository.trustedRoot, 'repository.trustedRoot') ??
        path.join(repositoryDir, 'metadata', '1.root.json'),
    ),
    provisioningModes: modes,
    ...(certRaw !== undefined && keyRaw !== undefined
      ? { tls: { cert: abs(certRaw), key: abs(keyRaw) } }
      : {}),
    deviceCa: abs(
      str(provisioning.deviceCa, 'provisioning.deviceCa') ?? path.join('ca', 'ca.crt'),
      dataDir,
    ),
    caDir: path.join(dataDir, 'ca'),
    directorKeysDir: path.join(dataDir, 'director-keys'),
    deviceTokenTtlMs:
      parseConfigDuration(tokens.deviceTokenTtl, 'tokens.deviceTokenTtl') ?? 15 * 60_000,
    challengeTtlMs: parseConfigDuration(tokens.challengeTtl, 'tokens.challengeTtl') ?? 60_000,
    logRetentionMs:
      parseConfigDuration(env.TUFOTA_SERVER_LOG_RETENTION ?? logs.retention, 'logs.retention') ??
      30 * 86_400_000,
    logKeepPerDevice: int(logs.keepPerDevice, 'logs.keepPerDevice', 1, 1_000_000) ?? 1000,
    logPruneIntervalMs: parseConfigDuration(logs.pruneInterval, 'logs.pruneInterval') ?? 3_600_000,
    bodyLimit: int(limits.body, 'limits.body', 1024, 16 * 1024 * 1024) ?? 64 * 1024,
    requestTimeoutMs: parseConfigDuration(limits.requestTimeout, 'limits.requestTimeout') ?? 30_000,
    connectionTimeoutMs:
      parseConfigDuration(limits.connectionTimeout, 'limits.connectionTimeout') ?? 60_000,
    logLevel: logLevel as LogLevel,
    trustProxy: top.trustProxy === true,
  };
}
