/**
 * What every repository command shares: finding the repository directory, reading the CLI
 * configuration, opening the {@link Repository}, choosing which keys must sign, and ending an
 * edit (stage it for signing, or publish it right away).
 *
 * The CLI's edit model. Each command is a separate process, so an edit (`add-target`,
 * `delegate`, `rotate`, …) is written to the staging area (`.tufota/staging/ROLE.json`, via
 * {@link Repository.prepare}) where the next command finds it; `tufota publish` signs what is
 * staged with the keys it can load and publishes. `--publish` on an edit command does both in
 * one run. Nothing under `metadata/` changes until a publish, so a refused edit leaves the served
 * repository untouched.
 *
 * Adapter. Commands that change the repository run under its lock (`lock.ts`, wired in
 * `commands/index.ts`), so concurrent commands on one repository are serialized or refused.
 *
 * @module
 */
import * as path from 'node:path';
import type { PublicKeyData } from '../crypto/index.js';
import { InvalidStateError, UsageError } from '../errors.js';
import { FsRepositoryStorage, type PublishResult, Repository } from '../repository/index.js';
import {
  flag,
  listOption,
  type OptionSpec,
  type ParsedArgs,
  SIGNING_OPTIONS,
  stringOption,
} from './args.js';
import { CLI_CONFIG_PATH, type CliConfig, loadConfig } from './config.js';
import { type Io, note } from './io.js';
import { defaultPasswordEnv, type PasswordSource, SignerSource } from './keys.js';

/** One command's view of a repository directory. */
export interface Session {
  io: Io;
  repoDir: string;
  configPath: string;
  config: CliConfig;
  passwords: PasswordSource;
  signers: SignerSource;
}

/** The repository directory: `--repo`, else a positional, else `$TUFOTA_REPO`, else cwd. */
export function repoDirOf(args: ParsedArgs, io: Io, positional?: string): string {
  const dir = stringOption(args, 'repo') ?? positional ?? io.env.TUFOTA_REPO ?? '.';
  return path.resolve(io.cwd, dir);
}

/** Read the configuration and set up key loading (opens no key yet). */
export async function openSession(args: ParsedArgs, io: Io, positional?: string): Promise<Session> {
  const repoDir = repoDirOf(args, io, positional);
  const configPath = path.join(repoDir, CLI_CONFIG_PATH);
  const config = await loadConfig(configPath);
  const passwords: PasswordSource = {
    io,
    passwordEnv: defaultPasswordEnv(stringOption(args, 'password-env'), config),
  };
  const signers = new SignerSource({
    repoDir,
    config,
    passwords,
    useKeyring: !flag(args, 'no-keyring'),
  });
  return { io, repoDir, configPath, config, passwords, signers };
}

/**
 * Open the repository of `session`, with the `--key` signers of `args` (if the command takes
 * them) handed to it.
 *
 * @throws InvalidStateError with a hint when the directory holds no repository.
 */
export async function openRepository(
  session: Session,
  args: ParsedArgs,
  options: { now?: () => Date } = {},
): Promise<Repository> {
  const storage = await FsRepositoryStorage.open(session.repoDir);
  let repo: Repository;
  try {
    repo = await Repository.open(storage, options.now === undefined ? {} : { now: options.now });
  } catch (error) {
    if (error instanceof InvalidStateError && /no repository/.test(error.message)) {
      throw new InvalidStateError(
        `${session.repoDir} holds no repository (no metadata/N.root.json): create one with tufota init, or pass --repo DIR`,
        { cause: error },
      );
    }
    throw error;
  }
  repo.addSigners(...(await session.signers.addKeyFiles(listOption(args, 'key'))));
  const command = stringOption(args, 'signer-command');
  if (command !== undefined) {
    const keyid = stringOption(args, 'signer-keyid');
    if (keyid === undefined) {
      throw new UsageError(
        '--signer-command needs --signer-keyid: the key id the command signs for',
      );
    }
    const publicKey = publicKeyFor(repo, keyid);
    if (publicKey === undefined) {
      throw new UsageError(
        `--signer-keyid ${keyid} is not a key any role of this repository lists (see tufota key list)`,
      );
    }
    repo.addSigners(
      session.signers.addCommand(command, listOption(args, 'signer-arg'), keyid, publicKey),
    );
  } else if (listOption(args, 'signer-arg').length > 0 || stringOption(args, 'signer-keyid')) {
    throw new UsageError('--signer-arg and --signer-keyid go with --signer-command');
  }
  return repo;
}

/** The public key any role of `repo` (current, published or pending) lists for `keyid`. */
export function publicKeyFor(repo: Repository, keyid: string): PublicKeyData | undefined {
  const roots = [repo.getMetadata('root'), repo.getPublished('root')?.metadata];
  for (const md of roots) {
    if (md?.signed.type === 'root' && Object.hasOwn(md.signed.keys, keyid)) {
      return md.signed.keys[keyid];
    }
  }
  for (const name of repo.targetsRoleNames()) {
    for (const md of [repo.getMetadata(name), repo.getPublished(name)?.metadata]) {
      const keys = md?.signed.type === 'targets' ? md.signed.delegations?.keys : undefined;
      if (keys !== undefined && Object.hasOwn(keys, keyid)) return keys[keyid];
    }
  }
  return undefined;
}

/**
 * Load, from the keyring, enough signers for everything a publish will sign now: pending roles
 * (up to their missing thresholds) and the snapshot and timestamp it always re-signs. Keys not
 * in the keyring (an offline root key) are skipped: the publish then fails with the list of
 * signatures still missing.
 */
export async function loadSignersForPublish(session: Session, repo: Repository): Promise<void> {
  const status = repo.status();
  const rootPending = status.some((s) => s.role === 'root' && s.pending);
  for (const role of status) {
    const resigned =
      role.role === 'snapshot' ||
      role.role === 'timestamp' ||
      (rootPending && role.role === 'targets');
    if (!resigned && !role.pending) continue;
    for (const requirement of role.requirements) {
      const candidates = resigned
        ? [...requirement.signed, ...requirement.missing]
        : requirement.missing;
      let have = resigned ? 0 : requirement.signed.length;
      for (const keyid of candidates) {
        if (have >= requirement.threshold) break;
        if (!session.signers.has(keyid)) continue;
        const signer = await session.signers.get(keyid, publicKeyFor(repo, keyid));
        if (signer !== undefined) {
          repo.addSigners(signer);
          have += 1;
        }
      }
    }
  }
}

/** Options every editing command takes, besides the signing options. */
export const EDIT_OPTIONS: Record<string, OptionSpec> = {
  publish: {
    type: 'boolean',
    description: 'publish right away (default: stage the edit; run tufota publish later)',
  },
  'unsafe-allow-rotation-window': {
    type: 'boolean',
    description:
      'with --publish: publish a key change even if the previous keys cannot sign (see the admin guide)',
  },
  ...SIGNING_OPTIONS,
};

/** What {@link finishEdit} did. */
export interface EditOutcome {
  /** Roles staged for signing (when not published). */
  staged: string[];
  /** The publish result (when published). */
  published: PublishResult | undefined;
}

/** Stage the edits of this run, or publish them with `--publish`. */
export async function finishEdit(
  session: Session,
  repo: Repository,
  args: ParsedArgs,
): Promise<EditOutcome> {
  if (flag(args, 'publish')) {
    return { staged: [], published: await publishNow(session, repo, args) };
  }
  const staged = await repo.prepare();
  if (staged.length > 0) {
    note(
      session.io,
      `staged ${staged.join(', ')}; run tufota status to see signatures, tufota publish to publish`,
    );
  }
  return { staged, published: undefined };
}

/** Load the keys a publish needs and publish. */
export async function publishNow(
  session: Session,
  repo: Repository,
  args: ParsedArgs,
): Promise<PublishResult> {
  await loadSignersForPublish(session, repo);
  return repo.publish({ unsafeAllowRotationWindow: flag(args, 'unsafe-allow-rotation-window') });
}

/** Human lines for a publish result. */
export function describePublish(result: PublishResult): string {
  if (result.roles.length === 0) return 'nothing to publish: the repository is up to date';
  return `published ${result.roles.map((r) => `${r.role} v${r.version}`).join(', ')}`;
}
