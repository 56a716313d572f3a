/**
 * Signing by an external command: a hardware token tool, a KMS CLI, a script on an air-gapped
 * host behind a serial line — anything that can read bytes and print a signature.
 *
 * Protocol (stable; document it to whoever writes the command):
 * - the command is run with `execFile` — no shell, arguments passed as given, never interpolated;
 * - the bytes to sign (the canonical JSON of `signed`) are written to its standard input, which is
 *   then closed;
 * - it must print the raw signature as hex (either case; surrounding whitespace ignored) on
 *   standard output — the same encoding TUF metadata uses for `sig` — and exit with status 0;
 * - anything on standard error is kept (capped) for the error message.
 *
 * Every signature is verified against the configured public key before it is returned, so a
 * command that signs with the wrong key, or prints something else, fails here instead of
 * producing metadata that clients reject.
 *
 * Does not implement: interactive commands (stdin carries the payload), retries.
 *
 * Adapter: spawns processes. Safe for concurrent use: each `sign` call runs its own process.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import {
  assertPublicKeyShape,
  computeKeyId,
  isSupportedKey,
  MAX_SIGNATURE_LENGTH,
  type PublicKeyData,
  tryHexToBytes,
} from '../crypto/keys.js';
import { defaultCryptoProvider } from '../crypto/node-provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { Signer } from '../crypto/signer.js';
import { InvalidStateError, SignerError, UnsupportedAlgorithmError } from '../errors.js';

/** Default time a command may take: long enough for a person to touch a hardware token. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/**
 * Most bytes read from each of the command's stdout and stderr (`execFile`'s `maxBuffer` applies
 * to each): room for chatty progress messages on stderr. The signature itself is capped far
 * lower by {@link MAX_SIGNATURE_LENGTH}.
 */
const MAX_OUTPUT_BYTES = 64 * 1024;

/** Options of {@link CommandSigner}. */
export interface CommandSignerOptions {
  /** Program to run (a path, or a name looked up in `PATH`). Never run through a shell. */
  readonly command: string;
  /** Its arguments. */
  readonly args?: readonly string[];
  /** The public key the command signs for; every signature is checked against it. */
  readonly publicKey: PublicKeyData;
  /** Key id to report instead of the computed one (to match an existing repository). */
  readonly keyid?: string;
  /** Kill the command after this many milliseconds. Default 60 000. */
  readonly timeoutMs?: number;
  /** Environment of the command; default this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of the command; default this process's. */
  readonly cwd?: string;
  /** Provider used to check signatures. Default the node provider. */
  readonly provider?: CryptoProvider;
}

/**
 * A signer that delegates to an external command (see the module comment for the protocol).
 *
 * @example
 * ```ts
 * const signer = new CommandSigner({
 *   command: '/usr/local/bin/yubihsm-sign',
 *   args: ['--key-id', '7'],
 *   publicKey: root.keys[keyid],
 *   timeoutMs: 30_000,
 * });
 * const sig = await signer.sign(bytes);
 * ```
 */
export class CommandSigner implements Signer {
  readonly keyid: string;
  readonly publicKey: PublicKeyData;
  readonly command: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #cwd: string | undefined;
  readonly #provider: CryptoProvider;

  /**
   * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` for an empty command or a bad timeout.
   * @throws {FormatError} when `publicKey` is not a key object.
   * @throws {UnsupportedAlgorithmError} when tufota cannot verify `publicKey`'s scheme.
   */
  constructor(options: CommandSignerOptions) {
    if (typeof options.command !== 'string' || options.command.length === 0) {
      throw new InvalidStateError('CommandSigner needs a command to run');
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidStateError(
        `CommandSigner timeoutMs must be a positive integer, got ${timeoutMs}`,
      );
    }
    assertPublicKeyShape(options.publicKey);
    if (!isSupportedKey(options.publicKey)) {
      throw new UnsupportedAlgorithmError(
        `CommandSigner cannot check signatures of ${options.publicKey.keytype}/${options.publicKey.scheme} keys`,
      );
    }
    this.command = options.command;
    this.args = [...(options.args ?? [])];
    this.publicKey = options.publicKey;
    this.keyid = options.keyid ?? computeKeyId(options.publicKey);
    this.timeoutMs = timeoutMs;
    this.#env = options.env;
    this.#cwd = options.cwd;
    this.#provider = options.provider ?? defaultCryptoProvider;
  }

  /**
   * Run the command on `data` and return the signature it printed, after checking it.
   *
   * @throws {SignerError} `ERR_TUF_SIGNER` when the command cannot be started, exits non-zero,
   *   is killed by the timeout, prints too much or something that is not hex, or prints a
   *   signature that does not verify against {@link publicKey}.
   */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    const stdout = await this.#run(data);
    const text = stdout.toString('utf8').trim();
    const signature = text.length === 0 ? undefined : tryHexToBytes(text, MAX_SIGNATURE_LENGTH);
    if (signature === undefined) {
      throw new SignerError(
        `${this.#describe()} did not print a hex signature on stdout (got ${describeOutput(text)}); ` +
          'the command must print the signature as hex and nothing else',
      );
    }
    if (!this.#provider.verify(this.publicKey, signature, data)) {
      throw new SignerError(
        `${this.#describe()} printed a signature that does not verify against key ${this.keyid} ` +
          '(is the command using the right key and signing stdin as it is?)',
      );
    }
    return signature;
  }

  #describe(): string {
    return `signing command ${JSON.stringify([this.command, ...this.args].join(' '))}`;
  }

  #run(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.command,
        this.args,
        {
          encoding: 'buffer',
          shell: false,
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          windowsHide: true,
          ...(this.#env === undefined ? {} : { env: this.#env }),
          ...(this.#cwd === undefined ? {} : { cwd: this.#cwd }),
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve(stdout);
            return;
          }
          const err = error as NodeJS.ErrnoException & {
            killed?: boolean;
            signal?: NodeJS.Signals | null;
            code?: string | number | null;
          };
          const errText = stderrExcerpt(stderr);
          let why: string;
          if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            why = `printed more than ${MAX_OUTPUT_BYTES} bytes on stdout or stderr`;
          } else if (err.killed && err.signal !== null) {
            why = `did not finish within ${this.timeoutMs} ms and was killed`;
          } else if (typeof err.code === 'string') {
            why = `could not be started (${err.code}: ${err.message})`;
          } else if (typeof err.code === 'number') {
            why = `exited with status ${err.code}`;
          } else {
            why = `was terminated by signal ${err.signal ?? 'unknown'}`;
          }
          reject(
            new SignerError(`${this.#describe()} ${why}${errText === '' ? '' : `: ${errText}`}`, {
              cause: error,
            }),
          );
        },
      );
      // A command that exits without reading all of stdin makes the write fail with EPIPE; the
      // exit status (or the signature check) reports the real problem, so ignore it here.
      child.stdin?.on('error', () => {});
      child.stdin?.end(data);
    });
  }
}

function stderrExcerpt(stderr: Buffer | string): string {
  const text = (typeof stderr === 'string' ? stderr : stderr.toString('utf8')).trim();
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

function describeOutput(text: string): string {
  if (text.length === 0) return 'nothing';
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return `${text.length} characters: ${JSON.stringify(shown)}`;
}
