/**
 * `tufota rotate`: change the keys or threshold of a role. For top-level roles this writes a
 * new root (`N+1.root.json`), which `publish` signs with a threshold of the old root keys and
 * of the new ones (TUF 5.3.4), so clients holding the old root follow the rotation. For
 * delegated roles and hash bins it edits the delegating role.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { PublicKeyData, Signer } from '../../crypto/index.js';
import type { Repository } from '../../repository/index.js';
import { type Command, integerOption, listOption } from '../args.js';
import { keyringPath, saveConfig } from '../config.js';
import { printResult } from '../io.js';
import { readKeyFile } from '../keys.js';
import {
  describePublish,
  EDIT_OPTIONS,
  finishEdit,
  openRepository,
  openSession,
  type Session,
} from '../session.js';

/** A key to trust, read from `--add-key`; private keys also sign in this run and join the keyring. */
export interface AddedKey {
  keyid: string;
  file: string;
  publicKey: PublicKeyData;
  signer: Signer | undefined;
}

/** Read every `--add-key` file. */
export async function readAddedKeys(session: Session, files: string[]): Promise<AddedKey[]> {
  const out: AddedKey[] = [];
  for (const file of files) {
    const resolved = path.resolve(session.io.cwd, file);
    const contents = await readKeyFile(session.passwords, resolved);
    out.push({
      keyid: contents.keyid,
      file: resolved,
      publicKey: contents.publicKey,
      signer: contents.signer,
    });
  }
  return out;
}

/** Record the private keys among `added` in the keyring (after the edit succeeded). */
export async function configKeysFromEdit(session: Session, added: AddedKey[]): Promise<void> {
  let changed = false;
  for (const key of added) {
    if (key.signer === undefined || Object.hasOwn(session.config.keys, key.keyid)) continue;
    session.config.keys[key.keyid] = { path: keyringPath(session.repoDir, key.file) };
    changed = true;
  }
  if (changed) await saveConfig(session.configPath, session.config);
}

/** The key inputs of `added`: signers where known (so they sign), else public keys. */
export async function keyInputs(session: Session, files: string[]) {
  const added = await readAddedKeys(session, files);
  return { added, inputs: added.map((key) => key.signer ?? key.publicKey) };
}

/** Key ids to revoke: given as ids, or as key files (`targets.pub.json`) whose id is read. */
async function revokedKeyids(session: Session, values: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const value of values) {
    const file = path.resolve(session.io.cwd, value);
    const isFile = await fs.stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    out.push(isFile ? ((await readAddedKeys(session, [value]))[0]?.keyid ?? value) : value);
  }
  return out;
}

function roleKeys(
  repo: Repository,
  role: string,
): { keyids: string[]; threshold: number } | undefined {
  const root = repo.getMetadata('root');
  if (root.signed.type === 'root' && Object.hasOwn(root.signed.roles, role)) {
    const r = root.signed.getRole(role);
    return { keyids: [...r.keyids], threshold: r.threshold };
  }
  for (const name of repo.targetsRoleNames()) {
    const md = repo.getMetadata(name);
    if (md.signed.type !== 'targets') continue;
    const found = md.signed.delegations?.getRole(role);
    if (found !== undefined) return { keyids: [...found.keyids], threshold: found.threshold };
  }
  return undefined;
}

export const rotateCommand: Command = {
  name: 'rotate',
  summary:
    'add or revoke keys of a role and change its threshold (root rotation for top-level roles)',
  usage:
    'tufota rotate ROLE [--add-key FILE]... [--revoke-key KEYID|FILE]... [--threshold N] [--publish]',
  description: [
    'Keys are added first, then the threshold is set (when it fits), then keys are revoked. For root,',
    'targets, snapshot and timestamp a new root version is staged; publish needs a threshold of the',
    'old root keys and of the new ones (carry the staged root to offline key holders with tufota sign).',
    'Private key files given to --add-key also sign in this run and join the keyring.',
  ].join('\n'),
  options: {
    'add-key': {
      type: 'string',
      multiple: true,
      valueName: 'FILE',
      description: 'key to trust (public key JSON/PEM or private PEM; repeatable)',
    },
    'revoke-key': {
      type: 'string',
      multiple: true,
      valueName: 'KEYID|FILE',
      description: 'key to stop trusting: its id, or its public key file (repeatable)',
    },
    threshold: { type: 'string', valueName: 'N', description: 'signatures the role needs' },
    ...EDIT_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const role = args.positionals[0] as string;
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const { added, inputs } = await keyInputs(session, listOption(args, 'add-key'));
    const threshold = integerOption(args, 'threshold', 1, 1024);
    const before = roleKeys(repo, role);
    for (const input of inputs) repo.addKey(role, input);
    const count = roleKeys(repo, role)?.keyids.length ?? 0;
    let thresholdSet = false;
    if (threshold !== undefined && threshold <= count) {
      repo.setThreshold(role, threshold);
      thresholdSet = true;
    }
    for (const keyid of await revokedKeyids(session, listOption(args, 'revoke-key'))) {
      repo.revokeKey(role, keyid);
    }
    if (threshold !== undefined && !thresholdSet) repo.setThreshold(role, threshold);
    for (const key of added) if (key.signer !== undefined) repo.addSigners(key.signer);
    const outcome = await finishEdit(session, repo, args);
    await configKeysFromEdit(session, added);
    const after = roleKeys(repo, role);
    printResult(io, { role, before, after, ...outcome }, () =>
      [
        `${role}: ${before?.keyids.length ?? 0} key(s), threshold ${before?.threshold ?? '?'} → ${after?.keyids.length ?? 0} key(s), threshold ${after?.threshold ?? '?'}`,
        outcome.published === undefined
          ? `staged: ${outcome.staged.join(', ')}; sign and publish next`
          : describePublish(outcome.published),
      ].join('\n'),
    );
    return 0;
  },
};
