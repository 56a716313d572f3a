/**
 * The CLI's per-repository configuration file, `.tufota/cli.json` (in the repository's
 * bookkeeping directory, which `tufota serve` never serves).
 *
 * It holds what an operator would otherwise type on every command:
 * - `keys`: the **keyring**, key id → where its private half is (a PEM file, with an optional
 *   per-key password variable, or an external signing command). Commands that sign look up the
 *   key ids a role needs here, so `tufota publish` finds the snapshot and timestamp keys by
 *   itself and an offline root key is simply absent from the online machine's keyring.
 * - `expiry`: validity periods (`"90d"`, `"12h"`) used by `tufota init` (the library then keeps
 *   the effective policy in `.tufota/config.json`).
 * - `consistentSnapshot`, `targetHashAlgorithms`, `keyType`, `passwordEnv`: defaults of `init`
 *   and of key loading.
 *
 * Key file paths are stored relative to the repository directory when they are inside it or
 * next to it, so a repository copied to an offline machine together with its key directory still
 * resolves them.
 *
 * Adapter (file system). Not safe for concurrent use: two commands editing the keyring at once
 * can lose an entry (run one at a time, as with publishing).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors.js';
import { isObject } from '../models/guards.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { parseDuration } from './args.js';

/** Where the CLI configuration lives, relative to the repository directory. */
export const CLI_CONFIG_PATH = '.tufota/cli.json';

/** Largest configuration file read. */
const MAX_CONFIG_LENGTH = 1024 * 1024;

/** How to obtain the private half of one key. Exactly one of `path` and `command`. */
export interface KeyringEntry {
  /** PEM private key file (relative to the repository directory, or absolute). */
  path?: string;
  /** Environment variable with this key's password (default: the global one). */
  passwordEnv?: string;
  /** External signer program (see `CommandSigner` for its protocol). */
  command?: string;
  args?: string[];
  /** Free text for `tufota key list` (e.g. `targets-1`, `yubikey 12345`). */
  label?: string;
}

/** The parsed configuration. */
export interface CliConfig {
  keys: Record<string, KeyringEntry>;
  /** Role → duration string or milliseconds; read by `init`. */
  expiry?: Record<string, string | number>;
  consistentSnapshot?: boolean;
  targetHashAlgorithms?: string[];
  keyType?: 'ed25519' | 'ecdsa' | 'rsa';
  /** Environment variable with key passwords (default `TUFOTA_KEY_PASSWORD`). */
  passwordEnv?: string;
}

const KNOWN_FIELDS = new Set([
  'keys',
  'expiry',
  'consistentSnapshot',
  'targetHashAlgorithms',
  'keyType',
  'passwordEnv',
]);
const EXPIRY_ROLES = new Set(['root', 'targets', 'snapshot', 'timestamp', 'delegated']);

/**
 * Read and validate a configuration file; an absent file is an empty configuration.
 *
 * @throws UsageError naming the file and the field when it is malformed.
 */
export async function loadConfig(file: string): Promise<CliConfig> {
  let text: string;
  try {
    const handle = await fs.open(file, 'r');
    try {
      const stat = await handle.stat();
      if (stat.size > MAX_CONFIG_LENGTH) {
        throw new UsageError(
          `configuration file ${file} is larger than ${MAX_CONFIG_LENGTH} bytes`,
        );
      }
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { keys: {} };
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read configuration file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `configuration file ${file} is not valid JSON: ${(error as Error).message}`,
    );
  }
  return validateConfig(value, file);
}

/**
 * Check a configuration value.
 *
 * @throws UsageError for unknown fields or wrongly typed values.
 */
export function validateConfig(value: unknown, file: string): CliConfig {
  const bad = (field: string, want: string) =>
    new UsageError(`configuration file ${file}: ${field} must be ${want}`);
  if (!isObject(value)) throw bad('the top level', 'a JSON object');
  for (const field of Object.keys(value)) {
    if (!KNOWN_FIELDS.has(field)) {
      throw new UsageError(
        `configuration file ${file}: unknown field ${JSON.stringify(field)} (known: ${[...KNOWN_FIELDS].join(', ')})`,
      );
    }
  }
  const config: CliConfig = { keys: {} };
  if (value.keys !== undefined) {
    if (!isObject(value.keys)) throw bad('keys', 'an object of key id → entry');
    for (const [keyid, entry] of Object.entries(value.keys)) {
      if (!/^[0-9a-f]{1,128}$/.test(keyid))
        throw bad(`keys key ${JSON.stringify(keyid)}`, 'a hex key id');
      config.keys[keyid] = validateEntry(entry, `keys.${keyid}`, bad);
    }
  }
  if (value.expiry !== undefined) {
    if (!isObject(value.expiry)) throw bad('expiry', 'an object of role → duration');
    const expiry: Record<string, string | number> = {};
    for (const [role, duration] of Object.entries(value.expiry)) {
      if (!EXPIRY_ROLES.has(role))
        throw bad(`expiry.${role}`, `one of ${[...EXPIRY_ROLES].join(', ')}`);
      if (typeof duration !== 'string' && typeof duration !== 'number') {
        throw bad(`expiry.${role}`, 'a duration such as "90d"');
      }
      parseDuration(duration, `expiry.${role} in ${file}`);
      expiry[role] = duration;
    }
    config.expiry = expiry;
  }
  if (value.consistentSnapshot !== undefined) {
    if (typeof value.consistentSnapshot !== 'boolean') throw bad('consistentSnapshot', 'a boolean');
    config.consistentSnapshot = value.consistentSnapshot;
  }
  if (value.targetHashAlgorithms !== undefined) {
    const list = value.targetHashAlgorithms;
    if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) {
      throw bad('targetHashAlgorithms', 'a non-empty array of strings');
    }
    config.targetHashAlgorithms = list as string[];
  }
  if (value.keyType !== undefined) {
    if (value.keyType !== 'ed25519' && value.keyType !== 'ecdsa' && value.keyType !== 'rsa') {
      throw bad('keyType', 'ed25519, ecdsa or rsa');
    }
    config.keyType = value.keyType;
  }
  if (value.passwordEnv !== undefined) {
    if (
      typeof value.passwordEnv !== 'string' ||
      !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value.passwordEnv)
    ) {
      throw bad('passwordEnv', 'an environment variable name');
    }
    config.passwordEnv = value.passwordEnv;
  }
  return config;
}

function validateEntry(
  entry: unknown,
  where: string,
  bad: (field: string, want: string) => UsageError,
): KeyringEntry {
  if (!isObject(entry)) throw bad(where, 'an object with path or command');
  const out: KeyringEntry = {};
  for (const field of ['path', 'passwordEnv', 'command', 'label'] as const) {
    const v = entry[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0)
      throw bad(`${where}.${field}`, 'a non-empty string');
    out[field] = v;
  }
  if (entry.args !== undefined) {
    if (!Array.isArray(entry.args) || !entry.args.every((a) => typeof a === 'string')) {
      throw bad(`${where}.args`, 'an array of strings');
    }
    out.args = entry.args as string[];
  }
  if ((out.path === undefined) === (out.command === undefined)) {
    throw bad(where, 'an object with exactly one of path and command');
  }
  return out;
}

/** Write the configuration atomically (mode 0600: it names key files and commands). */
export async function saveConfig(file: string, config: CliConfig): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const ordered: Record<string, unknown> = {};
  for (const field of KNOWN_FIELDS) {
    const v = config[field as keyof CliConfig];
    if (v !== undefined) ordered[field] = v;
  }
  await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(ordered, null, 2)}\n`), {
    mode: 0o600,
  });
}

/** A key file path as the keyring stores it: relative to `repoDir` unless that climbs far. */
export function keyringPath(repoDir: string, file: string): string {
  const relative = path.relative(repoDir, path.resolve(file));
  return relative.split(path.sep).filter((s) => s === '..').length <= 1
    ? relative
    : path.resolve(file);
}

/** Resolve a keyring path against the repository directory. */
export function resolveKeyringPath(repoDir: string, file: string): string {
  return path.resolve(repoDir, file);
}
