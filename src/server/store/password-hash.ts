/**
 * Password hashes for the dashboard's log-in: scrypt (node:crypto) with a random 16-byte salt,
 * stored as `scrypt$N$r$p$<salt hex>$<hash hex>` so the cost can rise later without breaking
 * stored hashes. Compared in constant time. A password is never stored or logged in plain.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { FleetError } from '../../errors.js';

/** scrypt cost parameters (N = 2^14, r = 8: 16 MiB of memory per hash). */
const COST = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
/** Longer passwords are refused: hashing cost must not be chosen by the caller. */
export const MAX_PASSWORD_LENGTH = 1024;
/** Shorter passwords are refused when set. */
export const MIN_PASSWORD_LENGTH = 12;

function derive(
  password: string,
  salt: Buffer,
  cost: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * Hash a new password.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_BAD_REQUEST` for a password shorter than 12 or longer than
 *   1024 characters.
 *
 * @example
 * ```ts
 * const stored = await hashPassword('correct horse battery');
 * await verifyPassword('correct horse battery', stored); // true
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      `a password must have at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      `a password must have at most ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('hex')}$${key.toString('hex')}`;
}

/** Whether `password` matches `stored` (false for a malformed stored value or a bad length). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || N > 1 << 20) return false;
  const salt = Buffer.from(parts[4] as string, 'hex');
  const expected = Buffer.from(parts[5] as string, 'hex');
  if (expected.length !== KEY_LENGTH || salt.length === 0) return false;
  const key = await derive(password, salt, { N, r, p });
  return timingSafeEqual(key, expected);
}
