/**
 * The one error hierarchy of tufota.
 *
 * Every error thrown on purpose by the library is a {@link TufError} with a stable `code`
 * (`ERR_TUF_*`) that programs and tests match on, a `name` equal to the class name, optional
 * structured fields, and the underlying `cause` where there is one. Messages name what was
 * checked, what was expected and what was found, so a person can act on them.
 *
 * Branches:
 * - {@link FormatError}: bytes or values that do not have the required shape (bad JSON, wrong
 *   field type, unsafe target path). Like Python's `ValueError`.
 * - {@link RepositoryError}: metadata that is well formed but must not be trusted (bad signature,
 *   rollback, expiry, hash mismatch). A client stops the update on these.
 * - {@link DownloadError}: the transport failed (not found, too large, too slow, HTTP error).
 * - {@link StorageError}, {@link SlotError}: local persistence and boot-slot adapters failed.
 * - {@link InvalidStateError}: the API was used in the wrong order. Never swallowed as bad
 *   metadata.
 * - {@link UptaneError} (a `RepositoryError`): an Uptane check refused something and names the
 *   attack (`ERR_TUF_UPTANE_<ATTACK>`).
 *
 * @module
 */

/** Fields every error may carry; subclasses narrow what they fill in. */
export interface TufErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * Base of every error tufota throws on purpose.
 *
 * @example
 * ```ts
 * import { TufError } from 'tufota/errors';
 * try { await updater.refresh(); } catch (e) {
 *   if (e instanceof TufError) console.error(e.code, e.message);
 * }
 * ```
 */
export class TufError extends Error {
  /** A stable machine-readable code, e.g. `ERR_TUF_EXPIRED`. */
  readonly code: string;

  constructor(message: string, options: TufErrorOptions = {}, code = 'ERR_TUF') {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------
// Format errors: the shape of the input is wrong.

/** Input does not have the shape the TUF specification requires. */
export class FormatError extends TufError {
  /** Where in the document the problem is, as a JSON-path-like string (`signed.version`). */
  readonly path: string | undefined;
  constructor(
    message: string,
    options: TufErrorOptions & { path?: string } = {},
    code = 'ERR_TUF_FORMAT',
  ) {
    super(message, options, code);
    this.path = options.path;
  }
}

/** A value cannot be encoded as (or parsed from) canonical JSON: floats, `-0`, lone surrogates… */
export class CanonicalJsonError extends FormatError {
  constructor(message: string, options: TufErrorOptions & { path?: string } = {}) {
    super(message, options, 'ERR_TUF_CANONICAL_JSON');
  }
}

/** A target path or role name could walk out of a directory or is otherwise unsafe. */
export class UnsafePathError extends FormatError {
  constructor(message: string, options: TufErrorOptions & { path?: string } = {}) {
    super(message, options, 'ERR_TUF_UNSAFE_PATH');
  }
}

/** A key type, scheme or hash algorithm that tufota does not implement. */
export class UnsupportedAlgorithmError extends FormatError {
  constructor(message: string, options: TufErrorOptions & { path?: string } = {}) {
    super(message, options, 'ERR_TUF_UNSUPPORTED_ALGORITHM');
  }
}

/**
 * Why a key file could not be used: it cannot be read, is not a private key, is damaged
 * (truncated or altered), needs a password none was given for, the password does not decrypt it,
 * or it holds a key type tufota cannot sign with.
 */
export type KeyFileProblem =
  | 'unreadable'
  | 'not-pem'
  | 'malformed'
  | 'password-required'
  | 'wrong-password'
  | 'unsupported';

/** A private key file is malformed, encrypted with another password, or of an unknown type. */
export class KeyFileError extends TufError {
  /** What is wrong, when known: a damaged file and a wrong password call for different fixes. */
  readonly problem: KeyFileProblem | undefined;
  constructor(message: string, options: TufErrorOptions & { problem?: KeyFileProblem } = {}) {
    super(message, options, 'ERR_TUF_KEY_FILE');
    this.problem = options.problem;
  }
}

/** A signer (in-memory, file, external command, HSM) failed to produce a signature. */
export class SignerError extends TufError {
  constructor(message: string, options: TufErrorOptions = {}) {
    super(message, options, 'ERR_TUF_SIGNER');
  }
}

// ---------------------------------------------------------------------------------------------
// Repository errors: well-formed metadata that must not be trusted.

/** Metadata from the repository must not be trusted; the update stops. */
export class RepositoryError extends TufError {
  /** The role the metadata is for, where known. */
  readonly role: string | undefined;
  constructor(
    message: string,
    options: TufErrorOptions & { role?: string } = {},
    code = 'ERR_TUF_REPOSITORY',
  ) {
    super(message, options, code);
    this.role = options.role;
  }
}

/** Fewer than a threshold of distinct trusted keys signed the metadata. */
export class UnsignedMetadataError extends RepositoryError {
  constructor(message: string, options: TufErrorOptions & { role?: string } = {}) {
    super(message, options, 'ERR_TUF_UNSIGNED');
  }
}

/** A version is not the one required (lower than trusted, not N+1, not what the snapshot lists). */
export class BadVersionNumberError extends RepositoryError {
  constructor(
    message: string,
    options: TufErrorOptions & { role?: string } = {},
    code = 'ERR_TUF_BAD_VERSION',
  ) {
    super(message, options, code);
  }
}

/** A new timestamp has the same version as the trusted one: keep the trusted one and stop. */
export class EqualVersionNumberError extends BadVersionNumberError {
  constructor(message: string, options: TufErrorOptions & { role?: string } = {}) {
    super(message, options, 'ERR_TUF_EQUAL_VERSION');
  }
}

/** Metadata expired before the reference time of this refresh (freeze attack protection). */
export class ExpiredMetadataError extends RepositoryError {
  constructor(message: string, options: TufErrorOptions & { role?: string } = {}) {
    super(message, options, 'ERR_TUF_EXPIRED');
  }
}

/** Bytes do not have the length or hashes that trusted metadata lists for them. */
export class LengthOrHashMismatchError extends RepositoryError {
  constructor(message: string, options: TufErrorOptions & { role?: string } = {}) {
    super(message, options, 'ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  }
}

/** No trusted targets role vouches for the requested target path. */
export class TargetNotFoundError extends RepositoryError {
  constructor(message: string, options: TufErrorOptions & { role?: string } = {}) {
    super(message, options, 'ERR_TUF_TARGET_NOT_FOUND');
  }
}

// ---------------------------------------------------------------------------------------------
// Download errors: the transport failed.

/** Fields of a download error. */
export interface DownloadErrorOptions extends TufErrorOptions {
  /** The URL (or file path) that was being fetched. */
  url?: string;
}

/** Fetching bytes failed. Carries the URL. */
export class DownloadError extends TufError {
  readonly url: string | undefined;
  constructor(message: string, options: DownloadErrorOptions = {}, code = 'ERR_TUF_DOWNLOAD') {
    super(message, options, code);
    this.url = options.url;
  }
}

/** The resource does not exist (HTTP 403/404/410, `ENOENT`). Ends the root rotation loop. */
export class NotFoundError extends DownloadError {
  constructor(message: string, options: DownloadErrorOptions = {}) {
    super(message, options, 'ERR_TUF_NOT_FOUND');
  }
}

/** The server sent more bytes than the cap allows (endless-data attack). */
export class DownloadLengthError extends DownloadError {
  readonly maxLength: number | undefined;
  constructor(message: string, options: DownloadErrorOptions & { maxLength?: number } = {}) {
    super(message, options, 'ERR_TUF_DOWNLOAD_TOO_LARGE');
    this.maxLength = options.maxLength;
  }
}

/** The server answered with an HTTP status that is neither success nor "not found". */
export class DownloadHttpError extends DownloadError {
  readonly statusCode: number;
  constructor(message: string, options: DownloadErrorOptions & { statusCode: number }) {
    super(message, options, 'ERR_TUF_DOWNLOAD_HTTP');
    this.statusCode = options.statusCode;
  }
}

/** The transfer was too slow or stalled (slow-retrieval attack). */
export class SlowRetrievalError extends DownloadError {
  constructor(message: string, options: DownloadErrorOptions = {}) {
    super(message, options, 'ERR_TUF_SLOW_RETRIEVAL');
  }
}

// ---------------------------------------------------------------------------------------------
// Local errors.

/** Reading or writing local state (metadata cache, journal, repository files) failed. */
export class StorageError extends TufError {
  readonly filePath: string | undefined;
  constructor(
    message: string,
    options: TufErrorOptions & { filePath?: string } = {},
    code = 'ERR_TUF_STORAGE',
  ) {
    super(message, options, code);
    this.filePath = options.filePath;
  }
}

/**
 * An exclusive lock is held by another live process (`ERR_TUF_LOCKED`): a second device agent on
 * one state directory. The message names the holder (purpose, pid, since when) and the lock file.
 */
export class LockHeldError extends StorageError {
  /** The holder's pid, where the lock file names one. */
  readonly holderPid: number | undefined;
  constructor(
    message: string,
    options: TufErrorOptions & { filePath?: string; holderPid?: number } = {},
  ) {
    super(message, options, 'ERR_TUF_LOCKED');
    this.holderPid = options.holderPid;
  }
}

/** A boot-slot operation failed (bootloader tool error, bad environment, wrong slot). */
export class SlotError extends TufError {
  constructor(message: string, options: TufErrorOptions = {}, code = 'ERR_TUF_SLOT') {
    super(message, options, code);
  }
}

/** An update is refused by device policy before any byte is written. */
export class PolicyError extends TufError {
  constructor(message: string, options: TufErrorOptions = {}, code = 'ERR_TUF_POLICY') {
    super(message, options, code);
  }
}

/** The target is not built for this device's hardware id. */
export class IncompatibleTargetError extends PolicyError {
  constructor(message: string, options: TufErrorOptions = {}) {
    super(message, options, 'ERR_TUF_INCOMPATIBLE_TARGET');
  }
}

/** The target's version or release counter is below the device's anti-rollback floor. */
export class DowngradeError extends PolicyError {
  constructor(message: string, options: TufErrorOptions = {}) {
    super(message, options, 'ERR_TUF_DOWNGRADE');
  }
}

/** A health check failed or timed out after booting a new slot. */
export class HealthCheckError extends TufError {
  readonly check: string | undefined;
  constructor(message: string, options: TufErrorOptions & { check?: string } = {}) {
    super(message, options, 'ERR_TUF_HEALTH_CHECK');
    this.check = options.check;
  }
}

/** The API was used in the wrong order or with arguments that contradict its state. */
export class InvalidStateError extends TufError {
  constructor(message: string, options: TufErrorOptions = {}) {
    super(message, options, 'ERR_TUF_INVALID_STATE');
  }
}

/** A command-line invocation or configuration file is wrong. */
export class UsageError extends TufError {
  /** What to do instead, when the thrower knows better than a generic "see --help". */
  readonly hint: string | undefined;
  constructor(message: string, options: TufErrorOptions & { hint?: string } = {}) {
    super(message, options, 'ERR_TUF_USAGE');
    this.hint = options.hint;
  }
}

/**
 * A repository edit is refused because it would publish metadata clients reject or leave the
 * repository in an unknown state: a signing key the role does not trust
 * (`ERR_TUF_KEY_NOT_AUTHORIZED`), a threshold above the number of keys
 * (`ERR_TUF_THRESHOLD_UNREACHABLE`), a role name used twice (`ERR_TUF_DUPLICATE_ROLE`). Nothing was
 * changed when it is thrown.
 */
export class RepositoryEditError extends TufError {
  /** The role the edit was for, where known. */
  readonly role: string | undefined;
  constructor(
    message: string,
    options: TufErrorOptions & { role?: string } = {},
    code = 'ERR_TUF_REPOSITORY_EDIT',
  ) {
    super(message, options, code);
    this.role = options.role;
  }
}

/**
 * The device runs a slot other than the one the agent committed, with no update in flight: the
 * bootloader gave up on the committed slot (it was not confirmed within its attempts) or the boot
 * environment was changed outside the agent. `UpdateAgent.resume()` reports it (outcome
 * `fellBack`) rather than throwing it: the device runs, just not the release it should.
 */
export class UnexpectedFallbackError extends SlotError {
  constructor(message: string, options: TufErrorOptions = {}) {
    super(message, options, 'ERR_TUF_UNEXPECTED_FALLBACK');
  }
}

// ---------------------------------------------------------------------------------------------
// Uptane.

/**
 * The attacks (and attack-like failures) Uptane verification names. The name goes into the
 * error's `code` (`ERR_TUF_UPTANE_` + the name in upper snake case) and into the ECU's next
 * version report (`attacks_detected`), so the director learns what an ECU refused and why.
 */
export const UptaneAttack = {
  /** Director and image repository disagree on an image's length or hashes. */
  imageMismatch: 'image-mismatch',
  /** The director assigns an image the image repository does not list (arbitrary software). */
  imageNotInImageRepository: 'image-not-in-image-repository',
  /** The assigned image is not built for the ECU's hardware id. */
  hardwareMismatch: 'hardware-id-mismatch',
  /** A release counter (or metadata version) lower than the one already trusted. */
  rollback: 'rollback',
  /** Director metadata made for another device (its `custom.deviceId` is not ours). */
  wrongDevice: 'replay-for-another-device',
  /** The director's targets name one ECU serial more than once. */
  duplicateEcu: 'ecu-listed-twice',
  /** The director's targets (or a manifest) name an ECU this device (or the director) lacks. */
  unknownEcu: 'unknown-ecu',
  /** The director's targets delegate, which Uptane forbids. */
  directorDelegation: 'director-delegation',
  /** Expired metadata: a freeze attack or a stale repository. */
  freeze: 'freeze',
  /** Metadata versions or hashes that do not belong together. */
  mixAndMatch: 'mix-and-match',
  /** Metadata signed by no trusted threshold of keys. */
  arbitrarySoftware: 'arbitrary-software',
  /** An ECU version report whose counter does not increase (replayed or reordered). */
  manifestReplay: 'manifest-replay',
  /** A manifest reports an installed image the director never assigned. */
  unassignedImage: 'unassigned-image',
  /** A manifest or version report not signed by the registered key. */
  forgedManifest: 'forged-manifest',
  /** The device clock is behind the persisted time floor. */
  clockBehind: 'clock-behind-floor',
  /** The image bytes do not match the verified length and hashes. */
  imageTampered: 'image-tampered',
} as const;

/** One of the {@link UptaneAttack} names. */
export type UptaneAttack = (typeof UptaneAttack)[keyof typeof UptaneAttack];

/** The stable error code of an attack: `ERR_TUF_UPTANE_IMAGE_MISMATCH`, … */
export function uptaneErrorCode(attack: UptaneAttack): string {
  return `ERR_TUF_UPTANE_${attack.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Uptane refused metadata, an image, a manifest or the clock. `attack` names what was detected
 * (it also goes into the ECU's next version report); `ecuSerial` the ECU concerned, where one is.
 * A {@link RepositoryError}, so code that stops an update on untrusted metadata stops on it too.
 *
 * @example
 * ```ts
 * try { await primary.updateCycle(); } catch (e) {
 *   if (e instanceof UptaneError) console.error(e.code, e.attack); // ERR_TUF_UPTANE_FREEZE freeze
 * }
 * ```
 */
export class UptaneError extends RepositoryError {
  readonly attack: UptaneAttack;
  readonly ecuSerial: string | undefined;
  constructor(
    attack: UptaneAttack,
    message: string,
    options: TufErrorOptions & { role?: string; ecuSerial?: string } = {},
  ) {
    super(`${message} [${attack}]`, options, uptaneErrorCode(attack));
    this.attack = attack;
    this.ecuSerial = options.ecuSerial;
  }
}

/**
 * Another process holds the repository's lock (`.tufota/lock`): every command that changes a
 * repository takes it, so two edits never publish over each other. Nothing was changed.
 */
export class RepositoryLockedError extends TufError {
  /** Who holds the lock, when its record is readable. */
  readonly holder:
    | { pid: number; hostname: string; command: string; startedAt: string }
    | undefined;
  /** The lock file. */
  readonly lockFile: string | undefined;
  constructor(
    message: string,
    options: TufErrorOptions & {
      holder?: { pid: number; hostname: string; command: string; startedAt: string };
      lockFile?: string;
    } = {},
  ) {
    super(message, options, 'ERR_TUF_REPOSITORY_LOCKED');
    this.holder = options.holder;
    this.lockFile = options.lockFile;
  }
}

/**
 * A published file whose name never changes content (`N.root.json`, `N.targets.json`,
 * `N.snapshot.json`, a hash-named target) already exists with other bytes: writing it would
 * change what clients may already hold under that name. Another publisher got there first, or
 * the file was tampered with. Nothing was overwritten.
 */
export class PublishedFileConflictError extends TufError {
  /** The storage path (`metadata/6.targets.json`). */
  readonly filePath: string;
  constructor(message: string, options: TufErrorOptions & { filePath: string }) {
    super(message, options, 'ERR_TUF_PUBLISHED_FILE_CONFLICT');
    this.filePath = options.filePath;
  }
}

// ---------------------------------------------------------------------------------------------
// Fleet server.

/** Codes of {@link FleetError}, each with the HTTP status the fleet server answers it with. */
export const FLEET_ERROR_STATUS = Object.freeze({
  /** No credentials, or credentials that are unknown, expired or revoked. */
  ERR_TUF_FLEET_UNAUTHENTICATED: 401,
  /** Known credentials, not allowed to do this (role, scope, another device's data). */
  ERR_TUF_FLEET_FORBIDDEN: 403,
  /** The device exists but waits for an operator's acceptance. */
  ERR_TUF_FLEET_DEVICE_PENDING: 403,
  /** The device was rejected or decommissioned. */
  ERR_TUF_FLEET_DEVICE_REFUSED: 403,
  /** A request body or parameter failed validation. */
  ERR_TUF_FLEET_BAD_REQUEST: 400,
  /** A request body is larger than the endpoint's limit. */
  ERR_TUF_FLEET_TOO_LARGE: 413,
  ERR_TUF_FLEET_NOT_FOUND: 404,
  /** The id is taken, or the record changed underneath the request. */
  ERR_TUF_FLEET_CONFLICT: 409,
  /** The database failed or its schema is newer than this program. */
  ERR_TUF_FLEET_STORE: 500,
  /** The audit log's hash chain is broken: a row was changed, removed or inserted. */
  ERR_TUF_FLEET_AUDIT_TAMPERED: 500,
});

/** A fleet server code (`ERR_TUF_FLEET_*`). */
export type FleetErrorCode = keyof typeof FLEET_ERROR_STATUS;

/**
 * The fleet server or its store refused or failed a request. `status` is the HTTP status the
 * server answers with; nothing was written when a write is refused.
 */
export class FleetError extends TufError {
  readonly status: number;
  constructor(code: FleetErrorCode, message: string, options: TufErrorOptions = {}) {
    super(message, options, code);
    this.status = FLEET_ERROR_STATUS[code];
  }
}
