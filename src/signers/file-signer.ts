/**
 * Signing with a private key kept in a PEM file.
 *
 * Implements {@link FileSigner} (open a PKCS#8 PEM key file, decrypt it with a password from the
 * caller, an environment variable or a prompt, then sign in memory) and {@link writeKeyFile}
 * (write a signer's key encrypted, mode 0600, atomically).
 *
 * Keys at rest are expected to be encrypted (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2 with
 * AES-256-CBC); unencrypted PKCS#8 files are read too, because test keys and other tools' key
 * stores (the python-tuf keystore) use them, but tufota never writes one.
 *
 * Does not implement: key agents, HSMs (write a `Signer`), or permission checks on files it reads
 * (a world-readable encrypted key is the operator's decision).
 *
 * Adapter: reads and writes files and reads `process.env`. Safe for concurrent use: a
 * `FileSigner` holds the decrypted key and never touches the file again after `open`.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import type { PublicKeyData } from '../crypto/keys.js';
import {
  type FromPemOptions,
  InMemorySigner,
  MAX_PRIVATE_KEY_PEM_LENGTH,
  type PrivateKeyProblem,
  readPrivateKeyPem,
  type Signer,
} from '../crypto/signer.js';
import { KeyFileError, TufError } from '../errors.js';
import { writeFileAtomic } from '../storage/atomic-file.js';

/** Largest key file read (bytes). A PKCS#8 PEM of an RSA-16384 key is about 13 KB. */
export const MAX_KEY_FILE_SIZE = MAX_PRIVATE_KEY_PEM_LENGTH;

/** The environment variable read for a key password when no other is named. */
export const DEFAULT_PASSWORD_ENV = 'TUFOTA_KEY_PASSWORD';

/** Options of {@link FileSigner.open}. */
export interface FileSignerOptions {
  /** The password, if the caller has it. Tried first. */
  readonly password?: string;
  /**
   * Name of an environment variable holding the password, tried second. Default
   * {@link DEFAULT_PASSWORD_ENV}; `null` to never read the environment.
   */
  readonly passwordEnv?: string | null;
  /** Asked last, only if the file is encrypted and no password was found above. */
  readonly prompt?: () => Promise<string>;
  /** Signature scheme; default the one tufota implements for the key's type. */
  readonly scheme?: string;
  /** Keytype to write (`ecdsa` or the deprecated `ecdsa-sha2-nistp256` for ECDSA keys). */
  readonly keytype?: string;
  /** Key id to use instead of the computed one (to match an existing repository). */
  readonly keyid?: string;
}

/**
 * A signer whose private key was read from a PEM file.
 *
 * @example
 * ```ts
 * const signer = await FileSigner.open('/etc/tufota/keys/targets.pem', {
 *   passwordEnv: 'TUFOTA_KEY_PASSWORD',
 *   prompt: () => readPasswordFromTty('targets key password: '),
 * });
 * const sig = await signer.sign(bytes);
 * ```
 */
export class FileSigner implements Signer {
  /** The file the key was read from. */
  readonly path: string;
  /** Whether the file was encrypted. */
  readonly encrypted: boolean;
  readonly #inner: InMemorySigner;

  private constructor(path: string, encrypted: boolean, inner: InMemorySigner) {
    this.path = path;
    this.encrypted = encrypted;
    this.#inner = inner;
  }

  get keyid(): string {
    return this.#inner.keyid;
  }

  get publicKey(): PublicKeyData {
    return this.#inner.publicKey;
  }

  /**
   * Read and decrypt a key file. The password is looked for in `options.password`, then the
   * environment variable `options.passwordEnv`, then `options.prompt()`, and only when the file
   * is encrypted.
   *
   * @throws {KeyFileError} `ERR_TUF_KEY_FILE` when the file cannot be read or is larger than
   *   {@link MAX_KEY_FILE_SIZE}, is not a PEM private key, is encrypted and no password was found
   *   or the password is wrong, or holds a key type tufota cannot sign with.
   * @throws {UnsupportedAlgorithmError} when `scheme`/`keytype` do not fit the key.
   */
  static async open(path: string, options: FileSignerOptions = {}): Promise<FileSigner> {
    const pem = await readKeyFile(path);
    const envName = options.passwordEnv === undefined ? DEFAULT_PASSWORD_ENV : options.passwordEnv;
    let password = options.password;
    let passwordSource = 'the password given';
    let first = readPrivateKeyPem(pem, password);
    if (!first.ok && first.problem === 'password-required') {
      const fromEnv = envName === null ? undefined : process.env[envName];
      if (fromEnv !== undefined && fromEnv !== '') {
        password = fromEnv;
        passwordSource = `the password in $${envName}`;
      } else if (options.prompt !== undefined) {
        password = await options.prompt();
        passwordSource = 'the password entered';
      }
      if (password !== undefined) first = readPrivateKeyPem(pem, password);
    }
    if (!first.ok) {
      throw new KeyFileError(
        describeProblem(path, first.problem, first.detail, {
          envName,
          passwordSource,
        }),
        { problem: first.problem === 'too-large' ? 'not-pem' : first.problem },
      );
    }
    const signerOptions: Pick<FromPemOptions, 'scheme' | 'keytype' | 'keyid'> = {
      ...(options.scheme === undefined ? {} : { scheme: options.scheme }),
      ...(options.keytype === undefined ? {} : { keytype: options.keytype }),
      ...(options.keyid === undefined ? {} : { keyid: options.keyid }),
    };
    return new FileSigner(
      path,
      first.encrypted,
      InMemorySigner.fromKeyObject(first.keyObject, signerOptions),
    );
  }

  /** Sign `data` with the key from the file. */
  sign(data: Uint8Array): Promise<Uint8Array> {
    return this.#inner.sign(data);
  }
}

/** Read at most {@link MAX_KEY_FILE_SIZE} bytes of a key file as UTF-8. */
async function readKeyFile(path: string): Promise<string> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(path, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new KeyFileError(`key file ${path} is not a regular file`, { problem: 'unreadable' });
    }
    // Read one byte past the cap so a file that grew after stat() is still caught.
    const buffer = Buffer.alloc(MAX_KEY_FILE_SIZE + 1);
    let total = 0;
    while (total < buffer.length) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > MAX_KEY_FILE_SIZE) {
      throw new KeyFileError(
        `key file ${path} is larger than ${MAX_KEY_FILE_SIZE} bytes; it is not a PEM private key ` +
          '(check the path)',
        { problem: 'not-pem' },
      );
    }
    return buffer.subarray(0, total).toString('utf8');
  } catch (error) {
    if (error instanceof TufError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT'
        ? ' (no such file: check the path)'
        : code === 'EACCES'
          ? ' (permission denied: run as the key owner)'
          : '';
    throw new KeyFileError(`cannot read key file ${path}${hint}: ${(error as Error).message}`, {
      cause: error,
      problem: 'unreadable',
    });
  } finally {
    await handle?.close().catch(() => {});
  }
}

function describeProblem(
  path: string,
  problem: PrivateKeyProblem,
  detail: string,
  context: { envName: string | null; passwordSource: string },
): string {
  const envHint =
    context.envName === null
      ? 'pass a password or a prompt'
      : `set ${context.envName}, pass a password, or pass a prompt`;
  switch (problem) {
    case 'password-required':
      return `key file ${path} is encrypted and no password was found (${envHint})`;
    case 'wrong-password':
      return `wrong password for key file ${path}: ${context.passwordSource} does not decrypt it (${envHint} with the right one)`;
    case 'unsupported':
      return `key file ${path} holds a key tufota cannot sign with: ${detail}`;
    case 'too-large':
    case 'not-pem':
      return `key file ${path} is not a PEM private key: ${detail}`;
    case 'malformed':
      return `key file ${path} is damaged: ${detail}`;
  }
}

/** Options of {@link writeKeyFile}. */
export interface WriteKeyFileOptions {
  /** Replace an existing file. Default `false`: overwriting a key by mistake loses it for good. */
  readonly overwrite?: boolean;
}

/**
 * Write `signer`'s private key to `path` as encrypted PKCS#8 PEM (AES-256-CBC), mode 0600,
 * atomically (temporary file, fsync, rename, fsync of the directory).
 *
 * @throws {KeyFileError} `ERR_TUF_KEY_FILE` when `path` exists and `overwrite` is not set.
 * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` for an empty password.
 * @throws {StorageError} `ERR_TUF_STORAGE` when the file cannot be written.
 *
 * @example
 * ```ts
 * const signer = await InMemorySigner.generate('ed25519');
 * await writeKeyFile('keys/timestamp.pem', signer, password);
 * ```
 */
export async function writeKeyFile(
  path: string,
  signer: InMemorySigner,
  password: string,
  options: WriteKeyFileOptions = {},
): Promise<void> {
  const pem = signer.exportPrivateKeyPem(password);
  if (options.overwrite !== true) {
    const exists = await fs.lstat(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
    );
    if (exists) {
      throw new KeyFileError(
        `key file ${path} already exists; refusing to overwrite a private key (move it away or choose another path)`,
      );
    }
  }
  await writeFileAtomic(path, pem, { mode: 0o600 });
}
