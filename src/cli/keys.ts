/**
 * Keys for the CLI: reading key files given on the command line, loading signers from the
 * keyring (`.tufota/cli.json`), external signing commands, and passwords.
 *
 * Passwords never come from the command line (they would show in `ps` and shell history): they
 * come from an environment variable (per key `passwordEnv`, else `--password-env`, else
 * `TUFOTA_KEY_PASSWORD`) or, when stdin is a terminal, from a prompt without echo.
 *
 * Key files accepted where a key is *trusted* (`--add-key`): a public key JSON as written by
 * `tufota key generate` (`NAME.pub.json`: `{keyid, key}` or a bare TUF key object), a PEM public
 * key, or a PEM private key (then its signer is also used for signing in this run).
 *
 * Adapter (files, environment, processes, TTY). Not safe for concurrent use.
 *
 * @module
 */
import { createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import {
  assertPublicKeyShape,
  computeKeyId,
  type PublicKeyData,
  publicKeyDataFromKeyObject,
  type Signer,
} from '../crypto/index.js';
import { KeyFileError, UsageError } from '../errors.js';
import { CommandSigner } from '../signers/command-signer.js';
import { DEFAULT_PASSWORD_ENV, FileSigner } from '../signers/file-signer.js';
import { type CliConfig, type KeyringEntry, resolveKeyringPath } from './config.js';
import { type Io, promptSecret } from './io.js';

/** Largest key file read. */
const MAX_KEY_FILE = 64 * 1024;

/** A key given on the command line: its public half, and a signer when it was private. */
export interface KeyFileContents {
  keyid: string;
  publicKey: PublicKeyData;
  signer: Signer | undefined;
}

/** Where key passwords come from in this run. */
export interface PasswordSource {
  io: Io;
  /** Default environment variable (`--password-env`, config, or `TUFOTA_KEY_PASSWORD`). */
  passwordEnv: string;
}

/** The password options of `FileSigner.open` for one key. */
function passwordOptions(source: PasswordSource, file: string, env?: string) {
  const io = source.io;
  return {
    passwordEnv: env ?? source.passwordEnv,
    ...(io.stdin.isTTY === true
      ? {
          prompt: async () => (await promptSecret(io, `password for ${file}: `)) ?? '',
        }
      : {}),
  };
}

/**
 * Open a private key file as a signer.
 *
 * @throws KeyFileError (`ERR_TUF_KEY_FILE`) for a missing, malformed or wrongly encrypted file.
 */
export async function openSigner(
  source: PasswordSource,
  file: string,
  env?: string,
): Promise<FileSigner> {
  // FileSigner reads the environment itself; tests run with a substituted environment.
  const name = env ?? source.passwordEnv;
  const password = source.io.env[name];
  try {
    return await FileSigner.open(file, {
      ...passwordOptions(source, file, env),
      ...(password !== undefined && password !== '' ? { password } : {}),
    });
  } catch (error) {
    throw inCliWords(error, file, name, password !== undefined && password !== '');
  }
}

/**
 * The library's password messages speak of options (`pass a prompt`); say where the CLI looked.
 * Other key file errors (damaged, unreadable, unsupported) already read well and pass through.
 */
function inCliWords(error: unknown, file: string, env: string, fromEnv: boolean): unknown {
  if (!(error instanceof KeyFileError)) return error;
  if (error.problem === 'wrong-password') {
    return new KeyFileError(
      `wrong password for key file ${file}: ${fromEnv ? `the password in $${env}` : 'the password entered'} does not decrypt it`,
      { cause: error, problem: 'wrong-password' },
    );
  }
  if (error.problem === 'password-required') {
    return new KeyFileError(
      `key file ${file} is encrypted and no password was found ($${env} is not set and stdin is not a terminal)`,
      { cause: error, problem: 'password-required' },
    );
  }
  return error;
}

/**
 * Read a key file given to trust a key (`--add-key`): public JSON, public PEM or private PEM.
 *
 * @throws KeyFileError when the file is none of these.
 */
export async function readKeyFile(source: PasswordSource, file: string): Promise<KeyFileContents> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile() || stat.size > MAX_KEY_FILE) {
      throw new KeyFileError(
        `key file ${file} is not a regular file of at most ${MAX_KEY_FILE} bytes`,
        { problem: 'unreadable' },
      );
    }
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(
      `cannot read key file ${file}: ${(error as Error).message} (check the path)`,
      {
        cause: error,
        problem: 'unreadable',
      },
    );
  }
  if (text.includes('PRIVATE KEY-----')) {
    const signer = await openSigner(source, file);
    return { keyid: signer.keyid, publicKey: signer.publicKey, signer };
  }
  if (text.includes('-----BEGIN PUBLIC KEY-----')) {
    try {
      const publicKey = publicKeyDataFromKeyObject(createPublicKey(text));
      return { keyid: computeKeyId(publicKey), publicKey, signer: undefined };
    } catch (error) {
      throw new KeyFileError(
        `key file ${file} holds an unusable public key: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyFileError(
      `key file ${file} is neither a PEM key nor a public key JSON file (as written by tufota key generate)`,
    );
  }
  const object = value as { key?: unknown; keyid?: unknown };
  const keyValue =
    typeof object === 'object' && object !== null && 'key' in object ? object.key : value;
  try {
    assertPublicKeyShape(keyValue);
  } catch (error) {
    throw new KeyFileError(
      `key file ${file} is not a TUF public key: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const publicKey: PublicKeyData = {
    keytype: keyValue.keytype,
    scheme: keyValue.scheme,
    keyval: { public: keyValue.keyval.public },
  };
  const keyid = computeKeyId(publicKey);
  if (typeof object.keyid === 'string' && object.keyid !== keyid) {
    throw new KeyFileError(
      `key file ${file} says key id ${object.keyid} but the key's id is ${keyid}: the file was edited or corrupted`,
    );
  }
  return { keyid, publicKey, signer: undefined };
}

/** The public key JSON `tufota key generate` writes next to a private key. */
export function publicKeyJson(keyid: string, publicKey: PublicKeyData): string {
  return `${JSON.stringify({ keyid, key: publicKey }, null, 2)}\n`;
}

/**
 * Where signers come from in one run: `--key` files, `--signer-command`, and the keyring.
 * Loads each key at most once and only when a role needs it (so a password is asked for only
 * when that key must sign).
 */
export class SignerSource {
  readonly #repoDir: string;
  readonly #config: CliConfig;
  readonly #passwords: PasswordSource;
  readonly #useKeyring: boolean;
  /** Signers ready now (from `--key`, or loaded from the keyring), by key id. */
  readonly #ready = new Map<string, Signer>();
  readonly #failed = new Map<string, string>();

  constructor(options: {
    repoDir: string;
    config: CliConfig;
    passwords: PasswordSource;
    useKeyring: boolean;
  }) {
    this.#repoDir = options.repoDir;
    this.#config = options.config;
    this.#passwords = options.passwords;
    this.#useKeyring = options.useKeyring;
  }

  /** Add signers opened from `--key` files. */
  async addKeyFiles(files: string[]): Promise<Signer[]> {
    const out: Signer[] = [];
    for (const file of files) {
      const signer = await openSigner(this.#passwords, file);
      this.#ready.set(signer.keyid, signer);
      out.push(signer);
    }
    return out;
  }

  /** Add a signer backed by an external command, for key `keyid` whose public key is known. */
  addCommand(command: string, args: string[], keyid: string, publicKey: PublicKeyData): Signer {
    const signer = new CommandSigner({ command, args, publicKey, keyid });
    this.#ready.set(keyid, signer);
    return signer;
  }

  /** Key ids with a keyring entry. */
  keyringIds(): string[] {
    return this.#useKeyring ? Object.keys(this.#config.keys) : [];
  }

  /** The keyring entry of `keyid`, if any. */
  entry(keyid: string): KeyringEntry | undefined {
    return this.#useKeyring && Object.hasOwn(this.#config.keys, keyid)
      ? this.#config.keys[keyid]
      : undefined;
  }

  /** True when a signer for `keyid` is ready or can be loaded. */
  has(keyid: string): boolean {
    return this.#ready.has(keyid) || this.entry(keyid) !== undefined;
  }

  /** Why loading `keyid` failed earlier (for error hints). */
  failure(keyid: string): string | undefined {
    return this.#failed.get(keyid);
  }

  /**
   * The signer for `keyid`: ready, or loaded from the keyring now.
   *
   * @param publicKey - the key metadata lists for `keyid` (needed for command signers).
   * @throws KeyFileError when the keyring's key file cannot be opened (wrong password, missing).
   */
  async get(keyid: string, publicKey?: PublicKeyData): Promise<Signer | undefined> {
    const ready = this.#ready.get(keyid);
    if (ready !== undefined) return ready;
    const entry = this.entry(keyid);
    if (entry === undefined) return undefined;
    let signer: Signer;
    if (entry.path !== undefined) {
      signer = await openSigner(
        this.#passwords,
        resolveKeyringPath(this.#repoDir, entry.path),
        entry.passwordEnv,
      );
      if (signer.keyid !== keyid) {
        throw new KeyFileError(
          `keyring entry ${keyid} points at ${entry.path}, which holds key ${signer.keyid}: fix .tufota/cli.json`,
        );
      }
    } else {
      if (publicKey === undefined) {
        throw new UsageError(
          `key ${keyid} is an external signer, but no metadata lists its public key`,
        );
      }
      signer = new CommandSigner({
        command: entry.command as string,
        args: entry.args ?? [],
        publicKey,
        keyid,
      });
    }
    this.#ready.set(keyid, signer);
    return signer;
  }

  /** Every signer loaded so far. */
  loaded(): Signer[] {
    return [...this.#ready.values()];
  }
}

/** The default password variable for this run. */
export function defaultPasswordEnv(option: string | undefined, config: CliConfig): string {
  const name = option ?? config.passwordEnv ?? DEFAULT_PASSWORD_ENV;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new UsageError(
      `--password-env must be an environment variable name, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * A password for a new key: from the environment, else asked twice on the terminal.
 *
 * @throws UsageError when neither is available or the two entries differ.
 */
export async function newKeyPassword(source: PasswordSource, what: string): Promise<string> {
  const fromEnv = source.io.env[source.passwordEnv];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const first = await promptSecret(source.io, `new password for ${what}: `);
  if (first === undefined) {
    throw new UsageError(
      `no password for the new key ${what}: set ${source.passwordEnv} (or --password-env NAME), or run in a terminal to be asked`,
    );
  }
  const second = await promptSecret(source.io, 'repeat the password: ');
  if (first !== second) throw new UsageError('the two passwords differ; nothing was written');
  if (first === '') throw new UsageError('an empty password protects nothing; nothing was written');
  return first;
}
