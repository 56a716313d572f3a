/**
 * `initFleetServer`: first-time setup of a fleet server (`tufota server init`): the data
 * directory (mode 0700), the database with its migrations, the director's online keys and root,
 * and the first admin with an API token whose secret is returned once (only its SHA-256 is
 * stored). Refuses to run twice on one data directory: the keys it would make exist already.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { InvalidStateError } from '../../errors.js';
import { Director } from '../../uptane/director/director.js';
import type { FleetStore } from '../store/fleet-store.js';
import type { FleetServerConfig } from './config.js';
import { generateDirectorKeys, loadDirectorSigners } from './director-keys.js';
import { newId, newToken, ROLE_SCOPES, USER_TOKEN_PREFIX } from './tokens.js';

/** What {@link initFleetServer} made. */
export interface InitResult {
  adminUserId: string;
  tokenId: string;
  /** The admin's API token: shown once, never stored. */
  token: string;
  tokenExpiresAt: string;
  /** Whether the director keys are encrypted ($TUFOTA_SERVER_KEY_PASSWORD). */
  keysEncrypted: boolean;
  schemaVersion: number;
}

/**
 * Initialize the server described by `config` on `openStore()`'s database.
 *
 * @throws InvalidStateError when the data directory already holds director keys.
 */
export async function initFleetServer(options: {
  config: FleetServerConfig;
  openStore: () => Promise<FleetStore>;
  env: Record<string, string | undefined>;
  admin: { userId: string; name: string };
  tokenDays: number;
  now?: () => Date;
}): Promise<InitResult> {
  const { config } = options;
  const now = options.now ?? (() => new Date());
  const existing = await fs.readdir(config.directorKeysDir).catch((): string[] => []);
  if (existing.length > 0) {
    throw new InvalidStateError(
      `${config.dataDir} is already initialized (director keys in ${config.directorKeysDir}); start it with tufota server start --config ${config.configFile}`,
    );
  }
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const { encrypted } = await generateDirectorKeys(config.directorKeysDir, options.env);
  const store = await options.openStore();
  try {
    const schemaVersion = await store.migrate();
    await Director.create({
      inventory: store.inventory,
      signers: await loadDirectorSigners(config.directorKeysDir, options.env),
      now,
    });
    const at = now().toISOString();
    const user = { ...options.admin, role: 'admin' as const, createdAt: at };
    const audit = { actor: 'system', from: 'tufota server init', at };
    await store.createUser(user, {
      ...audit,
      action: 'user.create',
      subject: `user:${user.userId}`,
      after: user,
    });
    const { secret, sha256 } = newToken(USER_TOKEN_PREFIX);
    const token = {
      tokenId: newId(),
      userId: user.userId,
      sha256,
      scopes: [...ROLE_SCOPES.admin],
      description: 'created by tufota server init',
      createdAt: at,
      expiresAt: new Date(now().getTime() + options.tokenDays * 86_400_000).toISOString(),
    };
    const { sha256: _secretDigest, ...shown } = token;
    await store.createToken(token, {
      ...audit,
      action: 'token.create',
      subject: `token:${token.tokenId}`,
      after: shown,
    });
    return {
      adminUserId: user.userId,
      tokenId: token.tokenId,
      token: secret,
      tokenExpiresAt: token.expiresAt,
      keysEncrypted: encrypted,
      schemaVersion,
    };
  } finally {
    await store.close();
  }
}
