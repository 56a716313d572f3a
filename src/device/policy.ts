/**
 * Device policy: may this device install this target? Checked BEFORE any byte is written, so a
 * refusal leaves the slots and the boot environment untouched.
 *
 * First, the target must follow tufota's `custom` conventions and have hashes the journal can
 * record ({@link checkTargetConventions}, the one rule `journal.ts` applies too): otherwise the
 * agent would install it and then refuse its own journal on resume, looping forever. No unsafe
 * switch turns this off. Then two rules, both from Uptane (Standard 5.4.4.2 "check the hardware identifier", 5.4.4.3/5.4.4.4
 * "check the release counter is not lower than the previous one"), applied to tufota's `custom`
 * conventions (`TargetFile.hardwareIds`, `.releaseVersion`, `.releaseCounter`):
 * - **compatibility**: `custom.hardwareIds` must list the device's `hardwareId`. A target that
 *   lists none is refused too (it could be meant for any board); only
 *   `unsafeAllowMissingHardwareIds` accepts it.
 * - **anti-rollback**: neither the semantic `version` nor the `releaseCounter` may be lower than
 *   the floors the agent raised when it last committed. Equal is allowed (re-installing the same
 *   release). When a floor exists and the target omits that field, it is refused: it cannot be
 *   shown not to be a downgrade. `unsafeAllowDowngrade` turns the check off (a deliberate,
 *   operator-driven downgrade, e.g. from a recovery bundle).
 *
 * The floors only rise after `confirmBooted()` ({@link raiseFloors}); a rolled-back update never
 * raises them.
 *
 * Pure: no I/O, no clock. Safe for concurrent use.
 *
 * @module
 */
import * as semver from 'semver';
import { DowngradeError, IncompatibleTargetError, PolicyError } from '../errors.js';
import { recordedTargetProblem } from '../models/target-conventions.js';
import type { Floors, JournalTarget } from './journal.js';

/** Device policy switches. Defaults are the safe choice. */
export interface UpdatePolicy {
  /**
   * UNSAFE: install a target whose version or release counter is below the device's floors.
   * Default `false`.
   */
  unsafeAllowDowngrade?: boolean;
  /**
   * UNSAFE: install a target whose `custom.hardwareIds` is missing (it still must list this
   * device when present). Default `false`.
   */
  unsafeAllowMissingHardwareIds?: boolean;
}

/** What the policy needs to know about a target (a `TargetFile` satisfies it). */
export interface PolicyTarget {
  path: string;
  hardwareIds: string[] | undefined;
  releaseVersion: string | undefined;
  releaseCounter: number | undefined;
  /** Length and hashes (a `TargetFile` has them): checked when present. */
  hashes?: Record<string, string>;
  /** The raw `custom` object (a `TargetFile` has it): checked against the conventions when present. */
  custom?: Record<string, unknown> | undefined;
}

/**
 * Refuse a target the device could not record: `custom.hardwareIds`, `custom.version` or
 * `custom.releaseCounter` malformed (an empty or over-long version, a negative counter…), or
 * hashes the journal cannot hold. The same rule the journal parser applies
 * (`models/target-conventions.ts`), checked before any write so the two never disagree.
 *
 * @throws PolicyError `ERR_TUF_TARGET_CONVENTIONS` naming the field.
 *
 * @example
 * ```ts
 * checkTargetConventions(info); // throws for custom: { version: '' }
 * ```
 */
export function checkTargetConventions(target: PolicyTarget): void {
  const problem = recordedTargetProblem(target);
  if (problem !== undefined) {
    throw new PolicyError(
      `target ${target.path} is refused before download: ${problem.message} (the repository must publish it corrected)`,
      {},
      'ERR_TUF_TARGET_CONVENTIONS',
    );
  }
}

/**
 * Refuse a target not built for `hardwareId`, or one that breaks the target conventions (checked
 * first, whatever the policy: see {@link checkTargetConventions}).
 *
 * @throws PolicyError `ERR_TUF_TARGET_CONVENTIONS`; IncompatibleTargetError `ERR_TUF_INCOMPATIBLE_TARGET`.
 *
 * @example
 * ```ts
 * checkCompatibility(info, 'board-rev-b', {}); // throws unless info lists board-rev-b
 * ```
 */
export function checkCompatibility(
  target: PolicyTarget,
  hardwareId: string,
  policy: UpdatePolicy = {},
): void {
  checkTargetConventions(target);
  const ids = target.hardwareIds;
  if (ids === undefined) {
    if (policy.unsafeAllowMissingHardwareIds === true) return;
    throw new IncompatibleTargetError(
      `target ${target.path} lists no custom.hardwareIds, so it cannot be shown to fit hardware ${hardwareId}; ` +
        'publish it with hardwareIds',
    );
  }
  if (!ids.includes(hardwareId)) {
    throw new IncompatibleTargetError(
      `target ${target.path} is built for ${ids.length === 0 ? 'no hardware' : ids.join(', ')}, not for this device (${hardwareId})`,
    );
  }
}

/**
 * Refuse a target below the floors.
 *
 * @throws DowngradeError `ERR_TUF_DOWNGRADE`; PolicyError `ERR_TUF_POLICY` when the target's
 *   `custom.version` is not a semantic version while a version floor exists.
 */
export function checkNotDowngrade(
  target: PolicyTarget,
  floors: Floors,
  policy: UpdatePolicy = {},
): void {
  if (policy.unsafeAllowDowngrade === true) return;
  const counter = target.releaseCounter;
  if (floors.releaseCounter !== undefined) {
    if (counter === undefined) {
      throw new DowngradeError(
        `target ${target.path} has no custom.releaseCounter but this device's floor is ${floors.releaseCounter}: ` +
          'it cannot be shown not to be a rollback',
      );
    }
    if (counter < floors.releaseCounter) {
      throw new DowngradeError(
        `target ${target.path} has releaseCounter ${counter}, below this device's floor ${floors.releaseCounter}`,
      );
    }
  }
  const version = target.releaseVersion;
  if (floors.version !== undefined) {
    if (version === undefined) {
      throw new DowngradeError(
        `target ${target.path} has no custom.version but this device runs ${floors.version}: ` +
          'it cannot be shown not to be a downgrade',
      );
    }
    const parsed = semver.valid(version);
    if (parsed === null) {
      throw new PolicyError(
        `target ${target.path}: custom.version ${JSON.stringify(version)} is not a semantic version`,
      );
    }
    const floor = semver.valid(floors.version);
    if (floor !== null && semver.lt(parsed, floor)) {
      throw new DowngradeError(
        `target ${target.path} has version ${version}, below the installed ${floors.version}`,
      );
    }
  }
}

/**
 * The floors after committing `target`: each floor becomes the larger of itself and the target's
 * value. Never lowers a floor (a committed `unsafeAllowDowngrade` install keeps the old floors).
 */
export function raiseFloors(floors: Floors, target: JournalTarget): Floors {
  const next: Floors = { ...floors };
  if (
    target.releaseCounter !== undefined &&
    (next.releaseCounter === undefined || target.releaseCounter > next.releaseCounter)
  ) {
    next.releaseCounter = target.releaseCounter;
  }
  const v = target.version === undefined ? null : semver.valid(target.version);
  if (v !== null) {
    const floor = next.version === undefined ? null : semver.valid(next.version);
    if (floor === null || semver.gt(v, floor)) next.version = v;
  }
  return next;
}
