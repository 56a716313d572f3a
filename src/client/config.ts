/**
 * Tunables of the TUF client ({@link Updater}): the caps that bound every download and every
 * loop, with the reference implementation's defaults (python-tuf `tuf/ngclient/config.py`).
 *
 * Implements: the {@link UpdaterConfig} shape, its defaults and {@link resolveUpdaterConfig},
 * which validates a partial override. Does not implement transport options (timeouts, retries):
 * those belong to the concrete fetcher.
 *
 * Pure and immutable; safe for concurrent use.
 *
 * @module
 */
import { InvalidStateError } from '../errors.js';

/**
 * Limits and switches of the TUF client. Every field is a cap on untrusted input or a
 * documented behaviour switch; none weakens verification.
 */
export interface UpdaterConfig {
  /** Most root versions applied in one refresh (TUF 5.3.3; endless-root defence). Default 256. */
  maxRootRotations: number;
  /** Most delegated roles visited in one target lookup (TUF 5.6.7). Default 32. */
  maxDelegations: number;
  /** Cap on each `N.root.json` download, in bytes. Default 512000. */
  rootMaxLength: number;
  /** Cap on the `timestamp.json` download, in bytes. Default 16384. */
  timestampMaxLength: number;
  /** Cap on the snapshot download when the timestamp lists no length. Default 2000000. */
  snapshotMaxLength: number;
  /** Cap on targets/delegated downloads when the snapshot lists no length. Default 5000000. */
  targetsMaxLength: number;
  /**
   * With `consistent_snapshot`, download targets as `DIR/HASH.BASENAME` (TUF 5.7.3). Turn off
   * only for repositories that publish consistent metadata but plain target names. Default true.
   */
  prefixTargetsWithHash: boolean;
}

/**
 * The defaults, as the reference implementation has them.
 *
 * @example
 * ```ts
 * const config = { ...DEFAULT_UPDATER_CONFIG, maxDelegations: 8 };
 * ```
 */
export const DEFAULT_UPDATER_CONFIG: Readonly<UpdaterConfig> = Object.freeze({
  maxRootRotations: 256,
  maxDelegations: 32,
  rootMaxLength: 512_000,
  timestampMaxLength: 16_384,
  snapshotMaxLength: 2_000_000,
  targetsMaxLength: 5_000_000,
  prefixTargetsWithHash: true,
});

const POSITIVE_INTEGER_FIELDS = [
  'maxRootRotations',
  'maxDelegations',
  'rootMaxLength',
  'timestampMaxLength',
  'snapshotMaxLength',
  'targetsMaxLength',
] as const;

/**
 * Merge `overrides` onto {@link DEFAULT_UPDATER_CONFIG} and check every field.
 *
 * @throws InvalidStateError when a cap is not a positive safe integer or the switch is not a
 *   boolean: a misconfigured client must fail at construction, not during an update.
 *
 * @example
 * ```ts
 * const config = resolveUpdaterConfig({ timestampMaxLength: 4096 });
 * ```
 */
export function resolveUpdaterConfig(
  overrides: Partial<UpdaterConfig> = {},
): Readonly<UpdaterConfig> {
  const config: UpdaterConfig = { ...DEFAULT_UPDATER_CONFIG };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(DEFAULT_UPDATER_CONFIG, name)) {
      throw new InvalidStateError(`unknown updater config field "${name}"`);
    }
    (config as unknown as Record<string, unknown>)[name] = value;
  }
  for (const name of POSITIVE_INTEGER_FIELDS) {
    const value = config[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidStateError(
        `updater config ${name} must be a positive integer, got ${String(value)}`,
      );
    }
  }
  if (typeof config.prefixTargetsWithHash !== 'boolean') {
    throw new InvalidStateError('updater config prefixTargetsWithHash must be true or false');
  }
  return Object.freeze(config);
}
