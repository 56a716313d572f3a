/**
 * Expiry policy of a repository: how long each role's metadata stays valid after it is signed,
 * and when {@link Repository.refresh} considers it due for re-signing. Stored in
 * `.tufota/config.json` so that every later command applies the same periods.
 *
 * The periods follow the TUF spec's advice (section 6.1, "Key management and migration"): root
 * long-lived and offline, timestamp short so freeze attacks are detected quickly.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { FormatError } from '../errors.js';
import { isObject } from '../models/guards.js';

const DAY = 24 * 60 * 60 * 1000;

/** Validity periods in milliseconds. Delegated roles use `delegated` (default: `targets`). */
export interface ExpiryPolicy {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
  delegated: number;
}

/** The default periods: root 1 year, targets and delegated roles 90 days, snapshot 7, timestamp 1. */
export const DEFAULT_EXPIRY_POLICY: Readonly<ExpiryPolicy> = Object.freeze({
  root: 365 * DAY,
  targets: 90 * DAY,
  snapshot: 7 * DAY,
  timestamp: DAY,
  delegated: 90 * DAY,
});

/** Longest period accepted (about 100 years): beyond that, `expires` would be meaningless. */
export const MAX_EXPIRY_PERIOD = 36_500 * DAY;

/** The period that applies to role `name`. */
export function periodFor(policy: ExpiryPolicy, name: string): number {
  switch (name) {
    case 'root':
    case 'targets':
    case 'snapshot':
    case 'timestamp':
      return policy[name];
    default:
      return policy.delegated;
  }
}

/** `now + period`, to the whole second (the `expires` format has no fractions). */
export function expiresAfter(now: Date, period: number): Date {
  return new Date(Math.floor((now.getTime() + period) / 1000) * 1000);
}

/**
 * Merge and validate a partial policy over the defaults.
 *
 * @throws FormatError for a period that is not a positive integer number of milliseconds below
 *   {@link MAX_EXPIRY_PERIOD}.
 */
export function resolveExpiryPolicy(partial: unknown = {}): ExpiryPolicy {
  if (!isObject(partial))
    throw new FormatError('expiry policy must be an object of periods in milliseconds');
  const policy: ExpiryPolicy = { ...DEFAULT_EXPIRY_POLICY };
  if (partial.targets !== undefined && partial.delegated === undefined) {
    policy.delegated = checkPeriod(partial.targets, 'targets');
  }
  for (const name of ['root', 'targets', 'snapshot', 'timestamp', 'delegated'] as const) {
    const value = partial[name];
    if (value !== undefined) policy[name] = checkPeriod(value, name);
  }
  return policy;
}

function checkPeriod(value: unknown, name: string): number {
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < 1000 ||
    value > MAX_EXPIRY_PERIOD
  ) {
    throw new FormatError(
      `expiry period for ${name} must be an integer number of milliseconds from 1000 to ${MAX_EXPIRY_PERIOD}, got ${String(value)}`,
      { path: `expiry.${name}` },
    );
  }
  return value;
}
