/**
 * Partial verification (Uptane Standard 2.1.0 §5.4.4.1): the smallest set of checks an Uptane
 * secondary may do — the director's targets only, plus the director root rotation the standard
 * recommends ("an ECU could also fetch and verify Root metadata from the Director … to receive
 * and validate a rotation of the Director's Targets key").
 *
 * 1. the reference time (a `TrustedClock` reading);
 * 2. §5.4.4.3 for each new director root supplied (N+1, N+2, …) and the final root's expiry;
 * 3. §5.4.4.6 on the director targets: signed by the root's targets threshold (step 3), version
 *    not below the previous targets (step 4: rollback), not expired (step 5: freeze), no
 *    delegations (6), no ECU twice (7), and the device id; step 2 (version equal to the
 *    snapshot's) is skipped, as the standard allows: a partial secondary has no snapshot.
 * 4. then the image checks of §5.4.3.4 on its own entry (`findOwnAssignment`).
 *
 * Does no I/O. Safe for concurrent use.
 *
 * @module
 */
import { TrustedMetadataSet } from '../../client/trusted-set.js';
import { BadVersionNumberError, ExpiredMetadataError, InvalidStateError } from '../../errors.js';
import { Metadata } from '../../models/index.js';
import { asUptaneError } from './attacks.js';
import { type EcuAssignment, readDirectorTargets } from './director-targets.js';
import { type EcuIdentity, findOwnAssignment } from './image-checks.js';

/** Input of {@link verifyPartial}. */
export interface PartialVerificationInput {
  deviceId: string;
  ecu: EcuIdentity;
  /** The trusted director root (bytes as last verified). */
  trustedRoot: Uint8Array;
  /** New director roots, in version order (may be empty). */
  newRoots: readonly Uint8Array[];
  /** The director's targets metadata. */
  targets: Uint8Array;
  /** The previously trusted director targets, if any (rollback floor). */
  previousTargets?: Uint8Array;
  /** The release counter this ECU runs, if any. */
  installedReleaseCounter?: number;
  referenceTime: Date;
}

/** Result of {@link verifyPartial}. */
export interface PartialVerificationResult {
  /** The newest trusted root's bytes (persist as the next anchor). */
  root: Uint8Array;
  /** The verified targets bytes (persist as the next floor). */
  targets: Uint8Array;
  /** This ECU's assignment, or `undefined` when the director assigns it nothing. */
  assignment: EcuAssignment | undefined;
  correlationId: string | undefined;
}

/**
 * Run partial verification.
 *
 * @throws UptaneError naming the attack (arbitrary software, rollback, freeze, replay for another
 *   device, director delegation, ECU listed twice, hardware id mismatch).
 */
export function verifyPartial(input: PartialVerificationInput): PartialVerificationResult {
  const time = input.referenceTime;
  try {
    const set = new TrustedMetadataSet(input.trustedRoot, { referenceTime: time });
    let rootBytes = input.trustedRoot;
    for (const bytes of input.newRoots) {
      set.updateRoot(bytes);
      rootBytes = bytes;
    }
    const root = set.root;
    // §5.4.4.3 step 3: the latest root must not be expired (freeze).
    if (root.signed.isExpired(time)) {
      throw new ExpiredMetadataError(
        `director root version ${root.signed.version} expired at ${root.signed.expires.toISOString()}: freeze attack or stale director`,
        { role: 'root' },
      );
    }
    const { metadata: candidate, signedBytes } = Metadata.fromBytesForVerification(
      input.targets,
      'targets',
    );
    // §5.4.4.6 step 3: a threshold of the root's targets keys.
    root.verifyDelegate('targets', candidate, undefined, signedBytes);
    // Step 4: not older than the previous targets.
    let previousCounter: number | undefined;
    if (input.previousTargets !== undefined) {
      const previous = Metadata.fromBytes(input.previousTargets, 'targets');
      if (candidate.signed.version < previous.signed.version) {
        throw new BadVersionNumberError(
          `director targets version ${candidate.signed.version} is lower than the trusted version ${previous.signed.version} (rollback attack)`,
          { role: 'targets' },
        );
      }
      for (const target of Object.values(previous.signed.targets)) {
        const ids = target.custom?.ecuIdentifiers;
        if (typeof ids === 'object' && ids !== null && Object.hasOwn(ids, input.ecu.ecuSerial)) {
          previousCounter = target.releaseCounter;
        }
      }
    }
    // Step 5: not expired.
    if (candidate.signed.isExpired(time)) {
      throw new ExpiredMetadataError(
        `director targets version ${candidate.signed.version} expired at ${candidate.signed.expires.toISOString()}: freeze attack or stale director`,
        { role: 'targets' },
      );
    }
    // Steps 6–7 and the device id; a secondary knows only itself.
    const info = readDirectorTargets(candidate.signed, {
      deviceId: input.deviceId,
      ecus: new Map([[input.ecu.ecuSerial, input.ecu.hardwareId]]),
      allEcusKnown: false,
    });
    const installed = input.installedReleaseCounter;
    const floor =
      installed === undefined
        ? previousCounter
        : previousCounter === undefined
          ? installed
          : Math.max(installed, previousCounter);
    const assignment = findOwnAssignment(info.assignments, input.ecu, floor);
    return {
      root: rootBytes,
      targets: input.targets,
      assignment,
      correlationId: info.correlationId,
    };
  } catch (error) {
    if (error instanceof InvalidStateError) throw error;
    throw asUptaneError('director', error);
  }
}
