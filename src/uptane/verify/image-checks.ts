/**
 * The image checks of Uptane (Standard 2.1.0): that the director's and the image repository's
 * entries for an image agree (§5.4.4.2 step 10.2), and that an image is right for the ECU about
 * to install it (§5.4.3.4, "Verify image").
 *
 * "SHALL match" custom fields: the ECU's hardware id must be one the image repository lists in
 * `custom.hardwareIds`, and the release counters must be equal. Free fields (`name`, `version`,
 * `targetFormat`, `uri`) are not compared.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { hashesEqual } from '../../crypto/index.js';
import { LengthOrHashMismatchError, UptaneAttack, UptaneError } from '../../errors.js';
import type { TargetFile } from '../../models/index.js';
import type { EcuAssignment } from './director-targets.js';

/** Same algorithms, same digests (compared in constant time). */
function sameHashes(a: Record<string, string>, b: Record<string, string>): boolean {
  const keysA = Object.keys(a).sort();
  const keysB = Object.keys(b).sort();
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k, i) => k === keysB[i] && hashesEqual(a[k] as string, b[k] as string));
}

/**
 * §5.4.4.2 step 10: the image repository's entry (found through its delegations, step 10.1)
 * must agree with the director's on length and hashes (10.2.1) and on the SHALL-match custom
 * fields (10.2.2); the release counter must not go below the previous one (10.2.3).
 *
 * @param imageTarget - the image repository's entry for the same path, `undefined` if none.
 * @param previousReleaseCounter - the counter of this ECU's previous assignment, if known.
 * @throws UptaneError `image-not-in-image-repository`, `image-mismatch`,
 *   `hardware-id-mismatch`, `rollback`.
 */
export function checkImagesAgree(
  assignment: EcuAssignment,
  imageTarget: TargetFile | undefined,
  previousReleaseCounter?: number,
): TargetFile {
  const { target, ecuSerial } = assignment;
  const where = { ecuSerial, role: 'targets' };
  if (imageTarget === undefined) {
    throw new UptaneError(
      UptaneAttack.imageNotInImageRepository,
      `the director assigns ${target.path} to ECU ${ecuSerial}, but the image repository does not list it`,
      where,
    );
  }
  // 10.2.1: non-custom metadata (length and hashes) identical.
  if (target.length !== imageTarget.length || !sameHashes(target.hashes, imageTarget.hashes)) {
    throw new UptaneError(
      UptaneAttack.imageMismatch,
      `director and image repository disagree on ${target.path} for ECU ${ecuSerial}: director length ${target.length} hashes ${JSON.stringify(target.hashes)}, image repository length ${imageTarget.length} hashes ${JSON.stringify(imageTarget.hashes)}`,
      where,
    );
  }
  // 10.2.2: SHALL-match custom metadata — hardware id…
  const hardwareIds = imageTarget.hardwareIds;
  if (hardwareIds === undefined || !hardwareIds.includes(assignment.hardwareId)) {
    throw new UptaneError(
      UptaneAttack.hardwareMismatch,
      `the image repository lists ${target.path} for hardware ${JSON.stringify(hardwareIds ?? [])}, not for ${assignment.hardwareId} (ECU ${ecuSerial})`,
      where,
    );
  }
  // …and release counter.
  const imageCounter = imageTarget.releaseCounter;
  if (assignment.releaseCounter !== imageCounter) {
    throw new UptaneError(
      imageCounter !== undefined &&
        assignment.releaseCounter !== undefined &&
        assignment.releaseCounter < imageCounter
        ? UptaneAttack.rollback
        : UptaneAttack.imageMismatch,
      `director release counter ${String(assignment.releaseCounter)} differs from the image repository's ${String(imageCounter)} for ${target.path} (ECU ${ecuSerial})`,
      where,
    );
  }
  // 10.2.3: not lower than the previous release counter.
  checkReleaseCounter(assignment, previousReleaseCounter);
  return imageTarget;
}

/** The release counter must not go down (§5.4.4.2 step 10.2.3, §5.4.3.4 step 5). */
export function checkReleaseCounter(
  assignment: EcuAssignment,
  previousReleaseCounter: number | undefined,
): void {
  if (previousReleaseCounter === undefined) return;
  const counter = assignment.releaseCounter ?? 0;
  if (counter < previousReleaseCounter) {
    throw new UptaneError(
      UptaneAttack.rollback,
      `${assignment.target.path} has release counter ${counter}, below ${previousReleaseCounter} already trusted for ECU ${assignment.ecuSerial}`,
      { ecuSerial: assignment.ecuSerial, role: 'targets' },
    );
  }
}

/** What an ECU knows about itself when it checks its image. */
export interface EcuIdentity {
  ecuSerial: string;
  hardwareId: string;
}

/**
 * §5.4.3.4 steps 2–5: the director's targets have an entry for this ECU (2), with this ECU's
 * hardware id (3), a path the ECU accepts (4: any safe path, checked when parsed), and a release
 * counter not below the previous one (5).
 *
 * @returns the assignment for this ECU.
 * @throws UptaneError `hardware-id-mismatch`, `rollback`; `undefined` is returned when the
 *   director assigns nothing to this ECU.
 */
export function findOwnAssignment(
  assignments: readonly EcuAssignment[],
  ecu: EcuIdentity,
  previousReleaseCounter?: number,
): EcuAssignment | undefined {
  const own = assignments.find((a) => a.ecuSerial === ecu.ecuSerial);
  if (own === undefined) return undefined;
  if (own.hardwareId !== ecu.hardwareId) {
    throw new UptaneError(
      UptaneAttack.hardwareMismatch,
      `the director assigns ${own.target.path} for hardware ${own.hardwareId}; ECU ${ecu.ecuSerial} is ${ecu.hardwareId}`,
      { ecuSerial: ecu.ecuSerial, role: 'targets' },
    );
  }
  checkReleaseCounter(own, previousReleaseCounter);
  return own;
}

/**
 * §5.4.3.4 step 7 (and the length check after it): the image bytes have the exact length and
 * every hash the director lists.
 *
 * @throws UptaneError `image-tampered`.
 */
export function verifyImageBytes(assignment: EcuAssignment, bytes: Uint8Array): void {
  try {
    assignment.target.verifyLengthAndHashes(bytes);
  } catch (error) {
    if (!(error instanceof LengthOrHashMismatchError)) throw error;
    throw new UptaneError(
      UptaneAttack.imageTampered,
      `image ${assignment.target.path} for ECU ${assignment.ecuSerial}: ${error.message}`,
      { ecuSerial: assignment.ecuSerial, cause: error },
    );
  }
}
