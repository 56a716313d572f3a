/**
 * `tufota key generate|list|show|add|remove`: make encrypted key files, and manage the
 * repository keyring (`.tufota/cli.json`: key id → key file or signing command). `remove`
 * refuses a key that a role still trusts (in the served or staged metadata).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type GenerateKeyType, InMemorySigner } from '../../crypto/index.js';
import { InvalidStateError, UsageError } from '../../errors.js';
import type { Repository } from '../../repository/index.js';
import { writeKeyFile } from '../../signers/file-signer.js';
import {
  type Command,
  flag,
  listOption,
  type ParsedArgs,
  stringOption,
  unknownSubcommand,
} from '../args.js';
import { keyringPath, saveConfig } from '../config.js';
import { type Io, printResult } from '../io.js';
import { newKeyPassword, publicKeyJson, readKeyFile } from '../keys.js';
import { openRepository, openSession, publicKeyFor, type Session } from '../session.js';

/** Roles (with their delegator) that trust `keyid`. */
function rolesTrusting(
  repo: Repository,
  keyid: string,
  view: 'current' | 'published' = 'current',
): string[] {
  const out: string[] = [];
  const metadataOf = (name: string) =>
    view === 'current' ? repo.getMetadata(name) : repo.getPublished(name)?.metadata;
  const root = metadataOf('root');
  if (root?.signed.type === 'root') {
    for (const [name, role] of Object.entries(root.signed.roles))
      if (role.keyids.includes(keyid)) out.push(name);
  }
  for (const name of repo.targetsRoleNames()) {
    const md = metadataOf(name);
    const delegations = md?.signed.type === 'targets' ? md.signed.delegations : undefined;
    for (const role of delegations?.roles ?? [])
      if (role.keyids.includes(keyid)) out.push(role.name);
    if (delegations?.succinctRoles?.keyids.includes(keyid))
      out.push(`${delegations.succinctRoles.namePrefix}-* (hash bins)`);
  }
  return out;
}

async function tryOpen(session: Session, args: ParsedArgs): Promise<Repository | undefined> {
  try {
    return await openRepository(session, { ...args, values: { ...args.values, key: undefined } });
  } catch (error) {
    if (error instanceof InvalidStateError) return undefined;
    throw error;
  }
}

async function generate(args: ParsedArgs, io: Io): Promise<number> {
  const out = args.positionals[1];
  if (out === undefined)
    throw new UsageError('usage: tufota key generate FILE.pem [--type ed25519|ecdsa|rsa] [--add]');
  const file = path.resolve(io.cwd, out);
  const type = (stringOption(args, 'type') ?? 'ed25519') as GenerateKeyType;
  if (!['ed25519', 'ecdsa', 'rsa'].includes(type))
    throw new UsageError(`--type must be ed25519, ecdsa or rsa, got ${type}`);
  const session = await openSession(args, io);
  const pubFile = `${file.replace(/\.pem$/, '')}.pub.json`;
  for (const f of [file, pubFile]) {
    if (
      await fs.lstat(f).then(
        () => true,
        () => false,
      )
    )
      throw new UsageError(
        `${f} already exists; refusing to overwrite a key (choose another name)`,
      );
  }
  const password = await newKeyPassword(session.passwords, file);
  const signer = await InMemorySigner.generate(type);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeKeyFile(file, signer, password);
  await fs.writeFile(pubFile, publicKeyJson(signer.keyid, signer.publicKey), { flag: 'wx' });
  if (flag(args, 'add')) {
    session.config.keys[signer.keyid] = {
      path: keyringPath(session.repoDir, file),
      ...labelOf(args),
    };
    await saveConfig(session.configPath, session.config);
  }
  printResult(
    io,
    {
      keyid: signer.keyid,
      file,
      publicKeyFile: pubFile,
      publicKey: signer.publicKey,
      addedToKeyring: flag(args, 'add'),
    },
    () =>
      [
        `keyid       ${signer.keyid}`,
        `private key ${file} (encrypted, mode 0600)`,
        `public key  ${pubFile}`,
      ].join('\n'),
  );
  return 0;
}

function labelOf(args: ParsedArgs): { label?: string } {
  const label = stringOption(args, 'label');
  return label === undefined ? {} : { label };
}

async function list(args: ParsedArgs, io: Io): Promise<number> {
  const session = await openSession(args, io);
  const repo = await tryOpen(session, args);
  const ids = new Set(Object.keys(session.config.keys));
  if (repo !== undefined) {
    const root = repo.getMetadata('root');
    if (root.signed.type === 'root') for (const id of Object.keys(root.signed.keys)) ids.add(id);
    for (const name of repo.targetsRoleNames()) {
      const md = repo.getMetadata(name);
      if (md.signed.type === 'targets')
        for (const id of Object.keys(md.signed.delegations?.keys ?? {})) ids.add(id);
    }
  }
  const rows = [...ids].map((keyid) => {
    const entry = Object.hasOwn(session.config.keys, keyid)
      ? session.config.keys[keyid]
      : undefined;
    return {
      keyid,
      roles: repo === undefined ? [] : rolesTrusting(repo, keyid),
      source: entry === undefined ? null : (entry.path ?? `command: ${entry.command}`),
      label: entry?.label ?? null,
    };
  });
  printResult(io, { keys: rows }, () =>
    rows.length === 0
      ? 'no keys'
      : rows
          .map(
            (r) =>
              `${r.keyid}  ${(r.roles.join(',') || '(trusted by no role)').padEnd(20)} ${r.source ?? '(not on this machine)'}`,
          )
          .join('\n'),
  );
  return 0;
}

async function show(args: ParsedArgs, io: Io): Promise<number> {
  const what = args.positionals[1];
  if (what === undefined) throw new UsageError('usage: tufota key show FILE|KEYID');
  const session = await openSession(args, io);
  const asFile = path.resolve(io.cwd, what);
  if (
    await fs.stat(asFile).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    const contents = await readKeyFile(session.passwords, asFile);
    printResult(
      io,
      { keyid: contents.keyid, key: contents.publicKey, private: contents.signer !== undefined },
      () => [`keyid ${contents.keyid}`, JSON.stringify(contents.publicKey, null, 2)].join('\n'),
    );
    return 0;
  }
  if (!/^[0-9a-f]{8,128}$/.test(what))
    throw new UsageError(`${what} is neither a file nor a key id`);
  const repo = await tryOpen(session, args);
  const publicKey = repo === undefined ? undefined : publicKeyFor(repo, what);
  if (publicKey === undefined)
    throw new UsageError(`no role of the repository at ${session.repoDir} lists key ${what}`);
  const roles = rolesTrusting(repo as Repository, what);
  printResult(io, { keyid: what, key: publicKey, roles }, () =>
    [
      `keyid ${what}`,
      `trusted for: ${roles.join(', ') || '(no role)'}`,
      JSON.stringify(publicKey, null, 2),
    ].join('\n'),
  );
  return 0;
}

async function add(args: ParsedArgs, io: Io): Promise<number> {
  const session = await openSession(args, io);
  const command = stringOption(args, 'command');
  let keyid: string;
  if (command !== undefined) {
    keyid = stringOption(args, 'keyid') ?? '';
    if (!/^[0-9a-f]{8,128}$/.test(keyid))
      throw new UsageError('key add --command needs --keyid KEYID (the key the command signs for)');
    session.config.keys[keyid] = { command, args: listOption(args, 'arg'), ...labelOf(args) };
  } else {
    const file = args.positionals[1];
    if (file === undefined)
      throw new UsageError('usage: tufota key add FILE.pem | --command PROGRAM --keyid KEYID');
    const resolved = path.resolve(io.cwd, file);
    const contents = await readKeyFile(session.passwords, resolved);
    if (contents.signer === undefined)
      throw new UsageError(`${file} holds a public key; the keyring needs the private key file`);
    keyid = contents.keyid;
    const passwordEnv = stringOption(args, 'key-password-env');
    session.config.keys[keyid] = {
      path: keyringPath(session.repoDir, resolved),
      ...(passwordEnv === undefined ? {} : { passwordEnv }),
      ...labelOf(args),
    };
  }
  await saveConfig(session.configPath, session.config);
  printResult(
    io,
    { keyid, entry: session.config.keys[keyid] },
    `added ${keyid} to the keyring of ${session.repoDir}`,
  );
  return 0;
}

async function remove(args: ParsedArgs, io: Io): Promise<number> {
  const what = args.positionals[1];
  if (what === undefined) throw new UsageError('usage: tufota key remove KEYID|FILE.pub.json');
  const session = await openSession(args, io);
  let keyid = what;
  if (!/^[0-9a-f]{8,128}$/.test(what)) {
    const file = path.resolve(io.cwd, what);
    const exists = await fs.stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) throw new UsageError(`${what} is neither a key id nor a key file`);
    keyid = (await readKeyFile(session.passwords, file)).keyid;
  }
  if (!Object.hasOwn(session.config.keys, keyid))
    throw new UsageError(
      `key ${keyid} is not in the keyring of ${session.repoDir} (see tufota key list)`,
    );
  const repo = await tryOpen(session, args);
  // Trusted in the served metadata or in a staged edit: either may still be published.
  const roles =
    repo === undefined
      ? []
      : [...new Set([...rolesTrusting(repo, keyid), ...rolesTrusting(repo, keyid, 'published')])];
  if (roles.length > 0) {
    throw new InvalidStateError(
      `key ${keyid} is still trusted for ${roles.join(', ')}; nothing was changed: revoke it first ` +
        `(tufota rotate ROLE --revoke-key ${keyid} --publish), then remove it from the keyring`,
    );
  }
  const entry = session.config.keys[keyid];
  delete session.config.keys[keyid];
  await saveConfig(session.configPath, session.config);
  printResult(io, { keyid, removed: entry }, () =>
    [
      `removed ${keyid} from the keyring of ${session.repoDir}`,
      ...(entry?.path === undefined ? [] : [`its key file ${entry.path} is not deleted`]),
    ].join('\n'),
  );
  return 0;
}

export const keyCommand: Command = {
  name: 'key',
  summary: 'generate key files; list, show, add and remove keys of the repository keyring',
  usage:
    'tufota key generate FILE.pem | list | show FILE|KEYID | add FILE.pem|--command PROGRAM --keyid KEYID | remove KEYID|FILE',
  description: [
    'generate  write an encrypted private key (mode 0600) and FILE.pub.json; --add records it in the keyring',
    'list      keys trusted by the repository and where their private halves are on this machine',
    "show      a key file's key id and public key, or which roles trust a key id",
    'add       record a private key file (or an external signing command) in the keyring',
    'remove    drop a key no role trusts (current or staged) from the keyring; its file is kept',
  ].join('\n'),
  options: {
    type: {
      type: 'string',
      valueName: 'TYPE',
      description: 'key type for generate: ed25519 (default), ecdsa, rsa',
    },
    add: { type: 'boolean', description: 'generate: also add the key to the repository keyring' },
    label: {
      type: 'string',
      valueName: 'TEXT',
      description: 'a note stored with the keyring entry',
    },
    command: { type: 'string', valueName: 'PROGRAM', description: 'add: external signer program' },
    arg: {
      type: 'string',
      multiple: true,
      valueName: 'ARG',
      description: 'add: argument of --command (repeatable)',
    },
    keyid: {
      type: 'string',
      valueName: 'KEYID',
      description: 'add: key id the --command signs for',
    },
    'key-password-env': {
      type: 'string',
      valueName: 'NAME',
      description: "add: environment variable holding this key's password",
    },
    'password-env': {
      type: 'string',
      valueName: 'NAME',
      description: 'environment variable with the password (default TUFOTA_KEY_PASSWORD)',
    },
  },
  positionals: { min: 1, max: 2 },
  subcommands: ['generate', 'list', 'show', 'add', 'remove'],
  async run(args, io) {
    switch (args.positionals[0]) {
      case 'generate':
        return generate(args, io);
      case 'list':
        return list(args, io);
      case 'show':
        return show(args, io);
      case 'add':
        return add(args, io);
      case 'remove':
        return remove(args, io);
      default:
        throw unknownSubcommand('key', args.positionals[0], [
          'generate',
          'list',
          'show',
          'add',
          'remove',
        ]);
    }
  },
};
