/**
 * `tufota init`: create a repository — generate (or take) the keys of the four top-level roles,
 * sign and publish version 1 of every role, and record the keys in the keyring.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type GenerateKeyType, InMemorySigner, type Signer } from '../../crypto/index.js';
import { InvalidStateError, UsageError } from '../../errors.js';
import { TOP_LEVEL_ROLE_NAMES, type TopLevelRoleName } from '../../models/index.js';
import {
  type ExpiryPolicy,
  FsRepositoryStorage,
  type KeyInput,
  Repository,
} from '../../repository/index.js';
import { writeKeyFile } from '../../signers/file-signer.js';
import {
  type Command,
  listOption,
  pairsOption,
  parseDuration,
  parseInteger,
  SIGNING_OPTIONS,
  stringOption,
} from '../args.js';
import { type CliConfig, keyringPath, loadConfig, saveConfig } from '../config.js';
import { printResult } from '../io.js';
import { newKeyPassword, publicKeyJson, readKeyFile } from '../keys.js';
import { openSession } from '../session.js';

const ROLES = TOP_LEVEL_ROLE_NAMES as readonly TopLevelRoleName[];

function roleName(raw: string, option: string): TopLevelRoleName {
  if (!(ROLES as readonly string[]).includes(raw)) {
    throw new UsageError(
      `${option}: ${JSON.stringify(raw)} is not a top-level role (${ROLES.join(', ')})`,
    );
  }
  return raw as TopLevelRoleName;
}

/** Generated or given key of one role. */
interface InitKey {
  role: TopLevelRoleName;
  keyid: string;
  input: KeyInput;
  /** Private key file (generated or given), for the keyring. */
  file: string | undefined;
  generated: boolean;
}

export const initCommand: Command = {
  name: 'init',
  summary: 'create a repository: keys for root, targets, snapshot and timestamp, version 1 of each',
  usage: 'tufota init [DIR] [options]',
  description: [
    'Generates one encrypted ed25519 key per role (or --keys ROLE=N keys) into --keys-dir, unless',
    '--use-key gives existing ones, then signs and publishes version 1 of every role. Key passwords',
    'come from $TUFOTA_KEY_PASSWORD (or --password-env NAME) or a prompt; all generated keys share',
    'it (change per key later with openssl). Ship metadata/1.root.json to devices as their trust',
    'anchor; keep the root keys offline (see docs/admin-guide.md).',
  ].join('\n'),
  options: {
    keys: {
      type: 'string',
      multiple: true,
      valueName: 'ROLE=N',
      description: 'generate N keys for ROLE (default 1)',
    },
    threshold: {
      type: 'string',
      multiple: true,
      valueName: 'ROLE=N',
      description: 'signatures ROLE needs (default 1)',
    },
    'use-key': {
      type: 'string',
      multiple: true,
      valueName: 'ROLE=FILE',
      description: 'use an existing key for ROLE (private PEM, or public key file + its --key)',
    },
    'key-type': {
      type: 'string',
      valueName: 'TYPE',
      description: 'ed25519 (default), ecdsa or rsa',
    },
    'keys-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'where generated keys go (default DIR-keys next to the repository)',
    },
    expiry: {
      type: 'string',
      multiple: true,
      valueName: 'ROLE=DURATION',
      description: 'validity period, e.g. timestamp=1d, root=365d',
    },
    'hash-algorithms': {
      type: 'string',
      valueName: 'LIST',
      description: 'target hashes, comma separated (default sha256,sha512)',
    },
    config: {
      type: 'string',
      valueName: 'FILE',
      description: 'start from this configuration file (see the admin guide)',
    },
    ...SIGNING_OPTIONS,
  },
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const session = await openSession(args, io, args.positionals[0]);
    const { repoDir } = session;
    const existing = await fs.readdir(path.join(repoDir, 'metadata')).catch(() => [] as string[]);
    if (existing.some((n) => n.endsWith('root.json') || n === 'timestamp.json')) {
      throw new InvalidStateError(
        `${repoDir} already holds a repository; nothing was changed (use the other commands to edit it)`,
      );
    }
    const templatePath = stringOption(args, 'config');
    const config: CliConfig =
      templatePath === undefined
        ? session.config
        : await loadConfig(path.resolve(io.cwd, templatePath));
    config.keys = { ...session.config.keys, ...config.keys };

    const counts = new Map<TopLevelRoleName, number>();
    for (const [role, n] of pairsOption(args, 'keys'))
      counts.set(roleName(role, '--keys'), parseInteger(n, `--keys ${role}`, 1, 32));
    const thresholds = new Map<TopLevelRoleName, number>();
    for (const [role, n] of pairsOption(args, 'threshold'))
      thresholds.set(roleName(role, '--threshold'), parseInteger(n, `--threshold ${role}`, 1, 32));
    const given = new Map<TopLevelRoleName, string[]>();
    for (const item of listOption(args, 'use-key')) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`--use-key wants ROLE=FILE, got ${JSON.stringify(item)}`);
      const role = roleName(item.slice(0, eq), '--use-key');
      given.set(role, [...(given.get(role) ?? []), path.resolve(io.cwd, item.slice(eq + 1))]);
    }
    const expiry: Partial<ExpiryPolicy> = {};
    const expiryInput = { ...(config.expiry ?? {}) } as Record<string, string | number>;
    for (const [role, value] of pairsOption(args, 'expiry')) expiryInput[role] = value;
    for (const [role, value] of Object.entries(expiryInput)) {
      if (!['root', 'targets', 'snapshot', 'timestamp', 'delegated'].includes(role)) {
        throw new UsageError(`--expiry: unknown role ${JSON.stringify(role)}`);
      }
      expiry[role as keyof ExpiryPolicy] = parseDuration(value, `expiry of ${role}`);
    }
    const keyType = (stringOption(args, 'key-type') ??
      config.keyType ??
      'ed25519') as GenerateKeyType;
    if (!['ed25519', 'ecdsa', 'rsa'].includes(keyType))
      throw new UsageError(`--key-type must be ed25519, ecdsa or rsa, got ${keyType}`);
    const hashList = stringOption(args, 'hash-algorithms');
    const targetHashAlgorithms =
      hashList === undefined
        ? config.targetHashAlgorithms
        : hashList.split(',').map((s) => s.trim());
    const keysDir = path.resolve(io.cwd, stringOption(args, 'keys-dir') ?? `${repoDir}-keys`);

    // Every check that needs no key material comes first, so a usage error writes nothing.
    for (const role of ROLES) {
      const count = given.get(role)?.length ?? counts.get(role) ?? 1;
      const threshold = thresholds.get(role) ?? 1;
      if (threshold > count) {
        throw new UsageError(
          `--threshold ${role}=${threshold} cannot be met with ${count} key(s); add keys with --keys ${role}=${threshold}`,
        );
      }
    }

    const keys: InitKey[] = [];
    const extraSigners: Signer[] = await session.signers.addKeyFiles(listOption(args, 'key'));
    for (const role of ROLES) {
      for (const file of given.get(role) ?? []) {
        const contents = await readKeyFile(session.passwords, file);
        keys.push({
          role,
          keyid: contents.keyid,
          input: contents.signer ?? contents.publicKey,
          file: contents.signer === undefined ? undefined : file,
          generated: false,
        });
      }
    }
    const toGenerate = ROLES.flatMap((role) =>
      given.has(role) ? [] : Array.from({ length: counts.get(role) ?? 1 }, (_, i) => ({ role, i })),
    );
    const written: string[] = [];
    if (toGenerate.length > 0) {
      const password = await newKeyPassword(session.passwords, `the generated keys in ${keysDir}`);
      await fs.mkdir(keysDir, { recursive: true, mode: 0o700 });
      try {
        for (const { role, i } of toGenerate) {
          const signer = await InMemorySigner.generate(keyType);
          const base = path.join(keysDir, (counts.get(role) ?? 1) > 1 ? `${role}-${i + 1}` : role);
          await writeKeyFile(`${base}.pem`, signer, password);
          written.push(`${base}.pem`);
          await fs.writeFile(`${base}.pub.json`, publicKeyJson(signer.keyid, signer.publicKey), {
            flag: 'wx',
          });
          written.push(`${base}.pub.json`);
          keys.push({
            role,
            keyid: signer.keyid,
            input: signer,
            file: `${base}.pem`,
            generated: true,
          });
        }
      } catch (error) {
        for (const file of written) await fs.rm(file, { force: true });
        throw error;
      }
    }

    const roles = Object.fromEntries(
      ROLES.map((role) => [
        role,
        {
          keys: keys.filter((k) => k.role === role).map((k) => k.input),
          threshold: thresholds.get(role) ?? 1,
        },
      ]),
    ) as Record<TopLevelRoleName, { keys: KeyInput[]; threshold: number }>;
    try {
      await Repository.create(await FsRepositoryStorage.open(repoDir), {
        roles,
        expiry,
        signers: extraSigners,
        ...(config.consistentSnapshot === undefined
          ? {}
          : { consistentSnapshot: config.consistentSnapshot }),
        ...(targetHashAlgorithms === undefined ? {} : { targetHashAlgorithms }),
      });
    } catch (error) {
      // The keys never protected anything: remove them so a retry starts clean.
      for (const file of written) await fs.rm(file, { force: true });
      throw error;
    }
    for (const key of keys) {
      if (key.file !== undefined)
        config.keys[key.keyid] = { path: keyringPath(repoDir, key.file), label: key.role };
    }
    await saveConfig(session.configPath, config);

    const result = {
      repository: repoDir,
      trustedRoot: path.join(repoDir, 'metadata', '1.root.json'),
      roles: Object.fromEntries(
        ROLES.map((role) => [
          role,
          {
            threshold: roles[role].threshold,
            keyids: keys.filter((k) => k.role === role).map((k) => k.keyid),
          },
        ]),
      ),
      keys: keys.map((k) => ({
        role: k.role,
        keyid: k.keyid,
        file: k.file ?? null,
        generated: k.generated,
      })),
    };
    printResult(io, result, () =>
      [
        `created repository ${repoDir}`,
        ...keys.map(
          (k) =>
            `  ${k.role.padEnd(9)} ${k.keyid}${k.file === undefined ? ' (public only)' : `  ${k.file}`}`,
        ),
        `trusted root for devices: ${result.trustedRoot}`,
        'next: keep the root keys offline; add targets with tufota add-target FILE --publish',
      ].join('\n'),
    );
    return 0;
  },
};
