/**
 * Reference-time policies: what instant a refresh checks expiry against, for devices whose clock
 * cannot be trusted (no battery-backed RTC, offline installs from a bundle).
 *
 * Named `reference-time-policy` rather than `expiry-policy` because `tufota/repository` already
 * exports an `ExpiryPolicy` (how long the repository signs metadata for); this module decides the
 * client's *reference time* (TUF 5.1), which every expiry check of a refresh uses.
 *
 * Two policies, both explicit and named:
 * - `strict` (the default): the reference time is the clock, raised to the floor if it reads
 *   earlier. Metadata expired by one second is refused (freeze-attack protection, TUF 5.4.4 …).
 * - `no-rtc-grace`: the reference time is the (floored) clock minus `maxExpiredBy`: metadata
 *   that expired at most that long ago is accepted. For devices that spend months on a shelf or
 *   in the field between offline updates; the operator chooses the window and accepts that a
 *   freeze attack (replaying old, valid-looking metadata) is possible within it.
 *
 * The clock floor. A device without an RTC boots at 1970-01-01 (or at its firmware build time):
 * against such a clock nothing ever expires and strict checking is silently vacuous. So the
 * clock is never believed when it reads earlier than the floor, the latest of:
 * - {@link MIN_PLAUSIBLE_TIME} (built in: any clock earlier than this is certainly wrong);
 * - `notBefore` of the policy (e.g. the firmware image's build time);
 * - `lastKnownTime` given by the caller: the `effectiveClock` of the last successful refresh,
 *   persisted by the device. TUF metadata carries no signing time (only `expires`), so the
 *   metadata itself cannot say how late it is; the device's own record of the latest time it
 *   knew to be past is the best trusted evidence (tough's datastore keeps the same to detect a
 *   clock stepped backwards). Persist it only from refreshes whose clock you trust: a floor
 *   pushed into the future makes every later refresh fail as expired.
 * Raising the clock to the floor can only make checks stricter, never weaker.
 *
 * Never silent: whenever the reference time differs from the raw clock (floor raised it, grace
 * lowered it), {@link applyReferenceTimePolicy} publishes the decision on the diagnostics
 * channel {@link REFERENCE_TIME_CHANNEL} (`tufota:client:expiry-grace`), writes it to
 * `NODE_DEBUG=tufota`, and returns it with a one-line `summary` the caller logs.
 *
 * Pure apart from the diagnostics channel and the optional clock read in
 * {@link applyReferenceTimePolicy}. Safe for concurrent use.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import { InvalidStateError } from '../errors.js';

const debug = debuglog('tufota');

/** Diagnostics channel carrying every {@link ReferenceTimeDecision} that adjusted the clock. */
export const REFERENCE_TIME_CHANNEL = 'tufota:client:expiry-grace';
const referenceTimeChannel = channel(REFERENCE_TIME_CHANNEL);

/** Earliest believable clock reading (this code was written after it). */
export const MIN_PLAUSIBLE_TIME: Date = new Date('2025-01-01T00:00:00Z');

/** Longest grace window accepted: beyond a year, expiry would mean nothing. */
export const MAX_EXPIRY_GRACE = 366 * 24 * 60 * 60 * 1000;

/** The default: expiry checked against the (floored) clock, no grace. */
export interface StrictReferenceTimePolicy {
  readonly name: 'strict';
  /** Lowest believable time (e.g. the firmware build time); raises an earlier clock. */
  readonly notBefore?: Date;
}

/**
 * Accept metadata expired by at most `maxExpiredBy` milliseconds, for devices without a
 * trusted clock. Weakens freeze-attack protection by exactly that window.
 */
export interface NoRtcGracePolicy {
  readonly name: 'no-rtc-grace';
  /** The grace window in milliseconds, 1 to {@link MAX_EXPIRY_GRACE}. */
  readonly maxExpiredBy: number;
  /** Lowest believable time (e.g. the firmware build time); raises an earlier clock. */
  readonly notBefore?: Date;
}

/** A named reference-time policy. */
export type ReferenceTimePolicy = StrictReferenceTimePolicy | NoRtcGracePolicy;

/** The default policy. */
export const STRICT_REFERENCE_TIME: Readonly<StrictReferenceTimePolicy> = Object.freeze({
  name: 'strict',
});

/** What the device knows about time when a refresh starts. */
export interface ReferenceTimeInputs {
  /** The raw clock reading. */
  clock: Date;
  /** The `effectiveClock` of the last successful refresh, if the device persisted it. */
  lastKnownTime?: Date;
}

/** The outcome of a policy: the reference time, and everything needed to report it. */
export interface ReferenceTimeDecision {
  /** The policy's name. */
  policy: ReferenceTimePolicy['name'];
  /** The raw clock reading. */
  clock: Date;
  /** The floor the clock was held to (latest of the built-in, `notBefore`, `lastKnownTime`). */
  floor: Date;
  /** `max(clock, floor)`: the time believed to be now. Persist it as the next `lastKnownTime`. */
  effectiveClock: Date;
  /** The instant every expiry check of the refresh uses. */
  referenceTime: Date;
  /** Milliseconds of grace applied (0 under `strict`). */
  graceMs: number;
  /** True when the clock read earlier than the floor and was raised. */
  clockRaised: boolean;
  /** True when `referenceTime` differs from `clock`: the decision is reported. */
  adjusted: boolean;
  /** One line for the device log. */
  summary: string;
}

/**
 * Check a policy object (from configuration) and return it frozen.
 *
 * @throws InvalidStateError for an unknown name, a grace outside 1 ms … 366 days, or an invalid
 *   `notBefore`.
 *
 * @example
 * ```ts
 * const policy = resolveReferenceTimePolicy({ name: 'no-rtc-grace', maxExpiredBy: 30 * 86_400_000 });
 * ```
 */
export function resolveReferenceTimePolicy(
  policy: ReferenceTimePolicy | undefined,
): Readonly<ReferenceTimePolicy> {
  if (policy === undefined) return STRICT_REFERENCE_TIME;
  const notBefore = policy.notBefore;
  if (
    notBefore !== undefined &&
    (!(notBefore instanceof Date) || Number.isNaN(notBefore.getTime()))
  ) {
    throw new InvalidStateError('reference-time policy notBefore must be a valid Date');
  }
  const name = (policy as { name?: unknown }).name;
  if (name === 'strict')
    return Object.freeze({ name, ...(notBefore === undefined ? {} : { notBefore }) });
  if (name === 'no-rtc-grace') {
    const grace = (policy as NoRtcGracePolicy).maxExpiredBy;
    if (!Number.isSafeInteger(grace) || grace < 1 || grace > MAX_EXPIRY_GRACE) {
      throw new InvalidStateError(
        `no-rtc-grace maxExpiredBy must be 1 to ${MAX_EXPIRY_GRACE} milliseconds (366 days), got ${String(grace)}`,
      );
    }
    return Object.freeze({
      name,
      maxExpiredBy: grace,
      ...(notBefore === undefined ? {} : { notBefore }),
    });
  }
  throw new InvalidStateError(
    `unknown reference-time policy ${JSON.stringify(name)}; use "strict" or "no-rtc-grace"`,
  );
}

/**
 * Decide the reference time. Pure: the clock is an input.
 *
 * @throws InvalidStateError for an invalid policy or inputs.
 *
 * @example
 * ```ts
 * const d = decideReferenceTime({ name: 'no-rtc-grace', maxExpiredBy: 7 * 86_400_000 }, { clock: new Date(0) });
 * d.clockRaised;  // true: 1970 is before MIN_PLAUSIBLE_TIME
 * d.referenceTime; // MIN_PLAUSIBLE_TIME minus 7 days
 * ```
 */
export function decideReferenceTime(
  policy: ReferenceTimePolicy | undefined,
  inputs: ReferenceTimeInputs,
): ReferenceTimeDecision {
  const resolved = resolveReferenceTimePolicy(policy);
  const clock = validTime(inputs.clock, 'clock');
  let floor = MIN_PLAUSIBLE_TIME.getTime();
  if (resolved.notBefore !== undefined) floor = Math.max(floor, resolved.notBefore.getTime());
  if (inputs.lastKnownTime !== undefined) {
    floor = Math.max(floor, validTime(inputs.lastKnownTime, 'lastKnownTime'));
  }
  const effective = Math.max(clock, floor);
  const graceMs = resolved.name === 'no-rtc-grace' ? resolved.maxExpiredBy : 0;
  const reference = effective - graceMs;
  const clockRaised = clock < floor;
  const adjusted = reference !== clock;
  const iso = (ms: number) => new Date(ms).toISOString();
  const parts = [`reference-time policy ${resolved.name}:`];
  if (clockRaised)
    parts.push(`clock ${iso(clock)} is before the floor ${iso(floor)} and was raised to it;`);
  if (graceMs > 0) {
    parts.push(`metadata expired up to ${formatMs(graceMs)} ago is ACCEPTED (grace);`);
  }
  parts.push(`expiry checked against ${iso(reference)}`);
  return {
    policy: resolved.name,
    clock: new Date(clock),
    floor: new Date(floor),
    effectiveClock: new Date(effective),
    referenceTime: new Date(reference),
    graceMs,
    clockRaised,
    adjusted,
    summary: parts.join(' '),
  };
}

/** The one method of `Updater` this module needs. */
export interface ReferenceTimeTarget {
  unsafeSetReferenceTime(time: Date): void;
}

/**
 * Decide the reference time under `policy` and set it on `updater` for its next refreshes;
 * report the decision on {@link REFERENCE_TIME_CHANNEL} and `NODE_DEBUG=tufota` when it
 * differs from the clock. Call it before each `refresh()` (the decision is a fixed instant).
 *
 * @param inputs - defaults to the system clock and no `lastKnownTime`.
 * @returns the decision; log `decision.summary` when `decision.adjusted`, and persist
 *   `decision.effectiveClock` after a successful refresh as the next `lastKnownTime`.
 *
 * @example
 * ```ts
 * const decision = applyReferenceTimePolicy(updater, { name: 'no-rtc-grace', maxExpiredBy: 30 * 86_400_000 }, {
 *   clock: new Date(),
 *   lastKnownTime: await loadLastKnownTime(),
 * });
 * if (decision.adjusted) log.warn(decision.summary);
 * await updater.refresh();
 * await saveLastKnownTime(decision.effectiveClock);
 * ```
 */
export function applyReferenceTimePolicy(
  updater: ReferenceTimeTarget,
  policy: ReferenceTimePolicy | undefined,
  inputs: Partial<ReferenceTimeInputs> = {},
): ReferenceTimeDecision {
  const decision = decideReferenceTime(policy, {
    clock: inputs.clock ?? new Date(),
    ...(inputs.lastKnownTime === undefined ? {} : { lastKnownTime: inputs.lastKnownTime }),
  });
  // Always set it, even when equal to the clock: the refresh must use this exact instant.
  updater.unsafeSetReferenceTime(decision.referenceTime);
  if (decision.adjusted) {
    debug('%s', decision.summary);
    if (referenceTimeChannel.hasSubscribers) referenceTimeChannel.publish(decision);
  }
  return decision;
}

function validTime(time: Date, what: string): number {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new InvalidStateError(`${what} must be a valid Date`);
  }
  return time.getTime();
}

function formatMs(ms: number): string {
  const day = 86_400_000;
  if (ms % day === 0) return `${ms / day}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${ms}ms`;
}
