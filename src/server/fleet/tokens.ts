/**
 * Secrets of the fleet server: API tokens for people (`tfa_…`) and devices (`tdv_…`), challenge
 * nonces and ids, and the roles and scopes that decide what a token may do.
 *
 * A token is 32 random bytes (base64url) behind its prefix; only its SHA-256 is stored, and a
 * presented token is found by that hash and then compared in constant time, so neither the
 * database nor a timing side channel gives the secret away.
 *
 * Pure apart from `node:crypto` randomness. Safe for concurrent use.
 *
 * @module
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { TokenScope, UserRole } from '../store/fleet-store.js';

/** Prefix of people's API tokens. */
export const USER_TOKEN_PREFIX = 'tfa_';
/** Prefix of device tokens. */
export const DEVICE_TOKEN_PREFIX = 'tdv_';

/** A token's secret (shown once) and what is stored of it. */
export interface TokenSecret {
  secret: string;
  sha256: string;
}

/** A new random token with `prefix`. */
export function newToken(
  prefix: typeof USER_TOKEN_PREFIX | typeof DEVICE_TOKEN_PREFIX,
): TokenSecret {
  const secret = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { secret, sha256: sha256Hex(secret) };
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Whether two hex digests are equal, in time independent of where they differ. */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A random id for tokens, challenges and users created by the server. */
export function newId(): string {
  return randomUUID();
}

/** A challenge nonce: 32 random bytes, base64. */
export function newNonce(): string {
  return randomBytes(32).toString('base64');
}

/** The shape of a token secret (prefix + 43 base64url characters). */
export const TOKEN_PATTERN = /^(tfa|tdv)_[A-Za-z0-9_-]{43}$/;

/** The scope each role grants at most. */
export const ROLE_SCOPES: Readonly<Record<UserRole, readonly TokenScope[]>> = Object.freeze({
  viewer: ['read'],
  operator: ['read', 'devices'],
  releaser: ['read', 'releases'],
  admin: ['read', 'devices', 'releases', 'admin'],
});

/** Whether `role` may hold a token with `scope`. */
export function roleAllows(role: UserRole, scope: TokenScope): boolean {
  return ROLE_SCOPES[role].includes(scope);
}

/**
 * Whether a token with `scopes`, acting for a user with `role` now, may act at `needed`. Both
 * must hold: the token's scopes (fixed at issue) and the user's role today (a demoted user's old
 * tokens lose what the new role does not grant). Every scope includes `read`; `admin` includes
 * every other.
 */
export function permits(
  role: UserRole,
  scopes: readonly TokenScope[],
  needed: TokenScope,
): boolean {
  if (!roleAllows(role, needed)) return false;
  if (needed === 'read') return scopes.length > 0;
  return scopes.includes(needed) || scopes.includes('admin');
}
