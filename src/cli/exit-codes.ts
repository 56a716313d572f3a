/**
 * Exit codes of the `tufota` CLI, and the hint printed with each kind of error.
 *
 * The codes are a stable interface for scripts and CI:
 * - 0: success;
 * - 1: the command failed (bad key password, a threshold not met, a refused edit, I/O error);
 * - 2: usage error (unknown option, missing argument, malformed value or configuration);
 * - 3: the command ran and found problems (`verify` found problems, `status --check` found a
 *   role needing attention).
 *
 * Pure. Safe for concurrent use.
 *
 * @module
 */
import { TufError, UsageError } from '../errors.js';

/** Stable exit codes. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  problems: 3,
} as const;

/** The exit code section of `tufota help`. */
export const EXIT_CODES_HELP = [
  'exit codes:',
  '  0  success',
  '  1  failure (the message says what to do next)',
  '  2  usage error (see tufota help COMMAND)',
  '  3  problems found (verify, status --check)',
].join('\n');

const HINTS: Record<string, string> = {
  ERR_TUF_USAGE: 'run tufota help COMMAND for the options',
  ERR_TUF_KEY_FILE:
    'check the key file path and its password ($TUFOTA_KEY_PASSWORD, --password-env NAME, or a terminal prompt)',
  ERR_TUF_UNSIGNED:
    'run tufota status to see which keys must still sign; sign with tufota sign --role ROLE --key FILE (or pass --key to this command), then publish',
  ERR_TUF_THRESHOLD_UNREACHABLE:
    'a threshold cannot exceed the number of keys: add keys first (tufota rotate ROLE --add-key FILE) or lower --threshold',
  ERR_TUF_KEY_NOT_AUTHORIZED: 'tufota key list shows which keys each role trusts',
  ERR_TUF_DUPLICATE_ROLE: 'choose another role name (tufota status lists the existing roles)',
  ERR_TUF_UNSAFE_PATH:
    'target paths are relative, use / separators, and have no empty, . or .. segments',
  ERR_TUF_STORAGE:
    'check permissions and free space; a failed publish leaves the old or the new state served: run tufota publish again',
  ERR_TUF_SIGNER:
    'check the external signer command (see the CommandSigner protocol in the admin guide)',
  ERR_TUF_LENGTH_OR_HASH_MISMATCH:
    'a served file does not match its metadata: run tufota verify for the full list',
  ERR_TUF_UNSUPPORTED_ALGORITHM: 'use ed25519, ecdsa (P-256) or rsa keys and sha256/sha512 hashes',
};

/** The hint for `error`, if there is one. */
export function hintFor(error: unknown): string | undefined {
  return error instanceof TufError ? HINTS[error.code] : undefined;
}

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? ExitCode.usage : ExitCode.failure;
}
