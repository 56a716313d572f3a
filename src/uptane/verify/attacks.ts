/**
 * Naming the attack behind a TUF verification failure, so that Uptane reports it (Uptane
 * Standard 2.1.0 §5.4.4.2: "If a check for a specific type of security attack fails … the ECU
 * SHOULD return an error code that indicates the type of attack").
 *
 * The mapping follows the "(Checks for … attack)" notes of §5.4.4.3–§5.4.4.6: signatures →
 * arbitrary software, expiry → freeze, lower versions → rollback, versions or hashes that do not
 * match what the delegating metadata lists → mix-and-match.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import {
  BadVersionNumberError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
  UnsignedMetadataError,
  UptaneAttack,
  UptaneError,
} from '../../errors.js';

/** Which repository a metadata failure came from, for messages. */
export type UptaneRepositoryName = 'director' | 'image';

/**
 * Turn a TUF {@link RepositoryError} into an {@link UptaneError} naming the attack; other errors
 * (transport, storage, API misuse) are returned unchanged.
 */
export function asUptaneError(repository: UptaneRepositoryName, error: unknown): unknown {
  if (error instanceof UptaneError || !(error instanceof RepositoryError)) return error;
  let attack: UptaneAttack = UptaneAttack.arbitrarySoftware;
  if (error instanceof ExpiredMetadataError) attack = UptaneAttack.freeze;
  else if (error instanceof LengthOrHashMismatchError) attack = UptaneAttack.mixAndMatch;
  else if (error instanceof BadVersionNumberError) {
    // The trusted set says "(rollback attack)" where a version went down; any other version
    // error is a version that differs from what the delegating role lists.
    attack = /rollback/.test(error.message) ? UptaneAttack.rollback : UptaneAttack.mixAndMatch;
  } else if (error instanceof UnsignedMetadataError) attack = UptaneAttack.arbitrarySoftware;
  else if (/rollback/.test(error.message)) attack = UptaneAttack.rollback;
  return new UptaneError(attack, `${repository} repository: ${error.message}`, {
    cause: error,
    ...(error.role !== undefined ? { role: error.role } : {}),
  });
}
