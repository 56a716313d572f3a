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
import { KeyFileError, type KeyFileProblem, TufError, UsageError } from '../errors.js';

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
  ERR_TUF_KEY_FILE: 'check the key file path; tufota key show FILE says what a key file holds',
  ERR_TUF_UNSIGNED:
    'tufota status shows which keys must still sign; sign with tufota sign --role ROLE --key FILE (or pass --key FILE), then tufota publish; a key kept on another machine signs there: tufota prepare ROLE --out DIR, tufota sign DIR/ROLE.json --key FILE, tufota import DIR/ROLE.json',
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

/** What to do about each kind of unusable key file: a damaged file needs no new password. */
const KEY_FILE_HINTS: Record<KeyFileProblem, string> = {
  unreadable: 'check the key file path and that this user may read it',
  'not-pem':
    'give the private key file (FILE.pem, as written by tufota key generate), not its FILE.pub.json or another file',
  malformed:
    'the file is damaged (truncated or altered), which no password fixes: restore it from your backup copy',
  'password-required':
    'set $TUFOTA_KEY_PASSWORD (or name another variable with --password-env NAME), or run in a terminal to be asked',
  'wrong-password':
    'put the right password in the variable the message names (--password-env NAME picks another), or unset it and type it at the terminal prompt',
  unsupported: 'use an ed25519, ecdsa (P-256) or rsa key (tufota key generate --type)',
};

/** Where an error happened, so the hint can name the command. */
export interface HintContext {
  /** The command that ran (`add-target`). */
  command?: string;
  /** Whether it ran with `--publish` (a refused publish staged nothing). */
  publish?: boolean;
}

/** Hints commands attach to library errors they know the CLI answer to (see {@link withHint}). */
const attached = new WeakMap<object, string>();

/**
 * Attach the CLI's advice to a library error without rewording it: `tufota bins create` on a
 * delegator that already has bins hints at `tufota bins resize`.
 */
export function withHint<E extends object>(error: E, hint: string): E {
  attached.set(error, hint);
  return error;
}

/** The hint for `error`, if there is one. */
export function hintFor(error: unknown, context: HintContext = {}): string | undefined {
  if (typeof error === 'object' && error !== null && attached.has(error)) {
    return attached.get(error);
  }
  if (!(error instanceof TufError)) return undefined;
  if (error instanceof UsageError) {
    if (error.hint !== undefined) return error.hint;
    return context.command === undefined
      ? 'run tufota help for the commands'
      : `see tufota ${context.command} --help`;
  }
  if (error instanceof KeyFileError && error.problem !== undefined) {
    return KEY_FILE_HINTS[error.problem];
  }
  if (
    error.code === 'ERR_TUF_STORAGE' &&
    context.publish !== true &&
    context.command !== 'publish'
  ) {
    return 'check that the directory exists, its permissions and free space';
  }
  if (error.code === 'ERR_TUF_UNSIGNED' && context.publish === true) {
    return `nothing was published or staged: run tufota ${context.command ?? 'COMMAND'} again without --publish to stage the edit, then ${HINTS.ERR_TUF_UNSIGNED}`;
  }
  return HINTS[error.code];
}

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? ExitCode.usage : ExitCode.failure;
}
