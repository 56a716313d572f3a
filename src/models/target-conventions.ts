/**
 * tufota's conventions for a target's `custom` object — `hardwareIds`, `version`,
 * `releaseCounter` — and for the hashes a device records, as ONE pure validation shared by every
 * party that acts on them:
 * - the device install policy (`device/policy.ts`), before any byte is written;
 * - the device journal (`device/journal.ts`), when it parses what it recorded;
 * - the repository (`repository/target-input.ts`), before a target is listed for publishing.
 *
 * Why one module: when the journal was stricter than the policy (a `version` of 300 characters,
 * or an empty one, passed the policy, was installed, and then the journal refused its own record
 * on resume), a device looped install → reject → reboot. With a single rule neither side can
 * accept what the other refuses.
 *
 * The rules, each for a field that is present (every field is optional):
 * - `hardwareIds`: an array of non-empty strings of at most {@link MAX_HARDWARE_ID_LENGTH};
 * - `version`: a non-empty string of at most {@link MAX_RELEASE_VERSION_LENGTH} characters
 *   (the journal's cap); the repository additionally requires a semantic version;
 * - `releaseCounter`: a non-negative safe integer;
 * - hashes (journal record): 1 to {@link MAX_RECORDED_HASHES} algorithms named `[a-z0-9-]{1,32}`,
 *   each a hex digest of at most 256 digits.
 *
 * Pure: no I/O, no clock. Safe for concurrent use.
 *
 * @module
 */

/** Longest `custom.version` accepted (what the device journal can record). */
export const MAX_RELEASE_VERSION_LENGTH = 256;
/** Longest hardware id accepted. */
export const MAX_HARDWARE_ID_LENGTH = 256;
/** Most hash algorithms a device records for one target. */
export const MAX_RECORDED_HASHES = 8;

/** What is wrong with a target's conventions: the field (`custom.version`) and why. */
export interface ConventionProblem {
  /** `custom.hardwareIds`, `custom.version`, `custom.releaseCounter` or `hashes`. */
  field: string;
  /** Human-readable reason, starting with the field name. */
  message: string;
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

/** Why `value` is not a valid `custom.version`, or `undefined` when it is. */
export function releaseVersionProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RELEASE_VERSION_LENGTH)
    return `custom.version must be a non-empty string of at most ${MAX_RELEASE_VERSION_LENGTH} characters, got ${describe(value)}`;
  return undefined;
}

/** Why `value` is not a valid `custom.releaseCounter`, or `undefined` when it is. */
export function releaseCounterProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    return `custom.releaseCounter must be an integer >= 0, got ${typeof value === 'number' ? String(value) : describe(value)}`;
  return undefined;
}

/** Why `value` is not a valid `custom.hardwareIds`, or `undefined` when it is. */
export function hardwareIdsProblem(value: unknown): string | undefined {
  if (!Array.isArray(value))
    return `custom.hardwareIds must be an array of strings, got ${describe(value)}`;
  for (const id of value) {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_HARDWARE_ID_LENGTH)
      return `custom.hardwareIds must hold non-empty strings of at most ${MAX_HARDWARE_ID_LENGTH} characters, got ${describe(id)}`;
  }
  return undefined;
}

/** Why `hashes` cannot be recorded by a device, or `undefined` when they can. */
export function recordedHashesProblem(hashes: Record<string, unknown>): string | undefined {
  const entries = Object.entries(hashes);
  if (entries.length === 0 || entries.length > MAX_RECORDED_HASHES)
    return `hashes must list 1 to ${MAX_RECORDED_HASHES} algorithms, got ${entries.length}`;
  for (const [algorithm, digest] of entries) {
    if (!/^[a-z0-9-]{1,32}$/.test(algorithm))
      return `hashes: algorithm name ${JSON.stringify(algorithm.slice(0, 40))} must be 1 to 32 of a-z, 0-9, -`;
    if (typeof digest !== 'string' || !/^[0-9a-fA-F]{1,256}$/.test(digest))
      return `hashes.${algorithm} must be a hex digest of at most 256 digits`;
  }
  return undefined;
}

/**
 * The first problem with the conventions in a target's `custom` (absent fields are fine), or
 * `undefined`.
 *
 * @example
 * ```ts
 * targetCustomProblem({ version: '' });
 * // { field: 'custom.version', message: 'custom.version must be a non-empty string …' }
 * ```
 */
export function targetCustomProblem(custom: unknown): ConventionProblem | undefined {
  if (custom === undefined) return undefined;
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom))
    return { field: 'custom', message: `custom must be a JSON object, got ${describe(custom)}` };
  const fields = custom as Record<string, unknown>;
  const checks: Array<[string, (v: unknown) => string | undefined]> = [
    ['hardwareIds', hardwareIdsProblem],
    ['version', releaseVersionProblem],
    ['releaseCounter', releaseCounterProblem],
  ];
  for (const [name, check] of checks) {
    if (!Object.hasOwn(fields, name)) continue;
    const message = check(fields[name]);
    if (message !== undefined) return { field: `custom.${name}`, message };
  }
  return undefined;
}

/**
 * The first problem that would keep a device from recording `target` (its `custom` conventions,
 * then its hashes), or `undefined`. What the install policy checks before any write.
 */
export function recordedTargetProblem(target: {
  hashes?: Record<string, unknown> | undefined;
  custom?: Record<string, unknown> | undefined;
}): ConventionProblem | undefined {
  const custom = targetCustomProblem(target.custom);
  if (custom !== undefined) return custom;
  if (target.hashes === undefined) return undefined;
  const hashes = recordedHashesProblem(target.hashes);
  return hashes === undefined ? undefined : { field: 'hashes', message: hashes };
}
