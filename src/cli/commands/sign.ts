/**
 * `tufota sign`, `tufota prepare`, `tufota import`: threshold and offline signing.
 *
 * The flow: on the online machine `prepare` writes the pending roles to the staging area (and,
 * with `--out DIR`, a copy to carry away); on each offline machine `sign FILE --key KEY` adds one
 * signature to the carried file without touching `signed`; back online, `import FILE` checks each
 * new signature of every file (a key the role trusts, a signature that verifies over exactly the
 * staged `signed`) before adding any, then adds each role's in one batch (`addSignatures`), and
 * `publish` publishes once every threshold is met. Inside the repository, `sign --role ROLE`
 * does the same in one step.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { hexToBytes, type PublicKeyData, type Signer } from '../../crypto/index.js';
import { FormatError, InvalidStateError, RepositoryEditError, UsageError } from '../../errors.js';
import { Key, Metadata, type Signature } from '../../models/index.js';
import { type Repository, STAGING_DIR } from '../../repository/index.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { type Command, listOption, SIGNING_OPTIONS, stringOption } from '../args.js';
import { type Io, printResult, warn } from '../io.js';
import { openSigner } from '../keys.js';
import { openRepository, openSession, publicKeyFor, type Session } from '../session.js';

/** Largest metadata file read for signing or import. */
const MAX_METADATA_FILE = 64 * 1024 * 1024;

async function readMetadataFile(file: string): Promise<{ bytes: Uint8Array; md: Metadata }> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (stat === undefined || !stat.isFile()) throw new UsageError(`${file} is not a readable file`);
  if (stat.size > MAX_METADATA_FILE)
    throw new FormatError(`${file} is larger than ${MAX_METADATA_FILE} bytes`);
  const bytes = new Uint8Array(await fs.readFile(file));
  return { bytes, md: Metadata.fromBytes(bytes) };
}

/** Key ids allowed to sign `role` now, per the repository's status. */
function authorized(repo: Repository, role: string): { ids: Set<string>; pending: boolean } {
  const status = repo.status().find((s) => s.role === role);
  if (status === undefined)
    throw new InvalidStateError(`no role named ${role} (see tufota status)`);
  const ids = new Set<string>();
  for (const r of status.requirements) for (const id of [...r.signed, ...r.missing]) ids.add(id);
  return { ids, pending: status.pending };
}

/** A signer that hands back a signature made elsewhere, only for the exact bytes it covers. */
class ImportedSignature implements Signer {
  constructor(
    readonly keyid: string,
    readonly publicKey: PublicKeyData,
    readonly signature: Uint8Array,
    readonly data: Uint8Array,
  ) {}
  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (Buffer.compare(Buffer.from(data), Buffer.from(this.data)) !== 0) {
      throw new InvalidStateError('the imported signature covers different bytes');
    }
    return this.signature;
  }
}

function roleSummary(repo: Repository, role: string) {
  const status = repo.status().find((s) => s.role === role);
  return status?.requirements.map((r) => ({
    label: r.label,
    threshold: r.threshold,
    signed: r.signed.length,
    missing: r.missing,
  }));
}

async function signInRepository(
  session: Session,
  repo: Repository,
  role: string,
  args: Parameters<Command['run']>[0],
): Promise<number> {
  const io = session.io;
  const { ids, pending } = authorized(repo, role);
  if (!pending)
    throw new InvalidStateError(
      `${role} has no staged edits to sign (tufota status shows what is staged)`,
    );
  const signers: Signer[] = [];
  for (const file of listOption(args, 'key'))
    signers.push(await openSigner(session.passwords, path.resolve(io.cwd, file)));
  const command = stringOption(args, 'signer-command');
  if (command !== undefined) {
    const keyid = stringOption(args, 'signer-keyid');
    const publicKey = keyid === undefined ? undefined : publicKeyFor(repo, keyid);
    if (keyid === undefined || publicKey === undefined)
      throw new UsageError(
        '--signer-command needs --signer-keyid naming a key the repository lists',
      );
    signers.push(
      session.signers.addCommand(command, listOption(args, 'signer-arg'), keyid, publicKey),
    );
  }
  if (signers.length === 0) {
    const missing =
      repo
        .status()
        .find((s) => s.role === role)
        ?.requirements.flatMap((r) => r.missing) ?? [];
    for (const keyid of missing) {
      if (!session.signers.has(keyid)) continue;
      const signer = await session.signers.get(keyid, publicKeyFor(repo, keyid));
      if (signer !== undefined) signers.push(signer);
    }
  }
  if (signers.length === 0) {
    throw new UsageError(
      `no key to sign ${role} with: pass --key FILE or --signer-command (keys that may sign: ${[...ids].join(', ')})`,
    );
  }
  for (const signer of signers) {
    if (!ids.has(signer.keyid)) {
      throw new RepositoryEditError(
        `key ${signer.keyid} is not trusted to sign ${role}; trusted: ${[...ids].join(', ')}. Nothing was signed.`,
        { role },
        'ERR_TUF_KEY_NOT_AUTHORIZED',
      );
    }
  }
  await repo.addSignatures(role, signers);
  const requirements = roleSummary(repo, role);
  printResult(io, { role, signedWith: signers.map((s) => s.keyid), requirements }, () =>
    [
      `signed ${role} with ${signers.map((s) => s.keyid).join(', ')}`,
      ...(requirements ?? []).map(
        (r) =>
          `  ${r.label}: ${r.signed}/${r.threshold}${r.missing.length > 0 && r.signed < r.threshold ? `, missing: ${r.missing.join(', ')}` : ''}`,
      ),
    ].join('\n'),
  );
  return 0;
}

async function signFile(
  session: Session,
  file: string,
  args: Parameters<Command['run']>[0],
): Promise<number> {
  const io = session.io;
  const keys = listOption(args, 'key');
  if (keys.length === 0)
    throw new UsageError('signing a file needs --key FILE (the offline private key)');
  const { md } = await readMetadataFile(file);
  const before = md.signedBytes();
  const added: string[] = [];
  for (const keyFile of keys) {
    const signer = await openSigner(session.passwords, path.resolve(io.cwd, keyFile));
    if (md.signed.type === 'root' && !Object.hasOwn(md.signed.keys, signer.keyid)) {
      warn(
        io,
        `key ${signer.keyid} is not listed in this root; only the previous root may trust it`,
      );
    }
    await md.sign(signer, { append: true });
    added.push(signer.keyid);
  }
  const after = md.signedBytes();
  if (Buffer.compare(Buffer.from(before), Buffer.from(after)) !== 0) {
    throw new InvalidStateError(
      `re-serializing ${file} changed its signed portion; nothing was written (report this as a bug)`,
    );
  }
  await writeFileAtomic(file, md.toBytes({ indent: 1 }));
  printResult(
    io,
    {
      file,
      role: md.signed.type,
      version: md.signed.version,
      signedWith: added,
      signatures: md.signatures.size,
    },
    () =>
      `added ${added.length} signature(s) to ${file} (${md.signed.type} v${md.signed.version}, ${md.signatures.size} signature(s) now); carry it back and run tufota import`,
  );
  return 0;
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'add a signature to a staged role, or to a carried metadata file (offline signing)',
  usage:
    'tufota sign --role ROLE [--key FILE | --signer-command PROGRAM --signer-keyid ID] | tufota sign FILE --key FILE',
  description: [
    'With --role, signs the role staged in the repository (checks that the key is trusted for it).',
    'With FILE (as written by tufota prepare --out), signs the file in place on an offline machine,',
    'leaving its signed portion untouched; bring it back with tufota import FILE.',
  ].join('\n'),
  options: {
    role: { type: 'string', valueName: 'ROLE', description: 'the staged role to sign' },
    ...SIGNING_OPTIONS,
  },
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const role = stringOption(args, 'role');
    const file = args.positionals[0];
    if ((role === undefined) === (file === undefined))
      throw new UsageError('give either --role ROLE (in a repository) or a FILE to sign');
    const session = await openSession(args, io);
    if (file !== undefined) return signFile(session, path.resolve(io.cwd, file), args);
    const repo = await openRepository(session, {
      ...args,
      values: {
        ...args.values,
        key: undefined,
        'signer-command': undefined,
        'signer-arg': undefined,
        'signer-keyid': undefined,
      },
    });
    return signInRepository(session, repo, role as string, args);
  },
};

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'stage pending roles for threshold/offline signing (optionally copy them to --out)',
  usage: 'tufota prepare [ROLE...] [--out DIR] [--key FILE]...',
  description:
    'Signs with the keys given (--key) and writes the pending roles to .tufota/staging/ and to --out DIR.',
  options: {
    out: {
      type: 'string',
      valueName: 'DIR',
      description: 'also copy each staged ROLE.json here, to carry to offline key holders',
    },
    ...SIGNING_OPTIONS,
  },
  positionals: { min: 0, max: 100 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const staged = await repo.prepare(args.positionals.length > 0 ? args.positionals : undefined);
    const out = stringOption(args, 'out');
    const copies: string[] = [];
    if (out !== undefined) {
      const dir = path.resolve(io.cwd, out);
      await fs.mkdir(dir, { recursive: true });
      for (const role of staged) {
        const to = path.join(dir, `${role}.json`);
        await fs.copyFile(path.join(session.repoDir, STAGING_DIR, `${role}.json`), to);
        copies.push(to);
      }
    }
    const roles = staged.map((role) => ({ role, requirements: roleSummary(repo, role) }));
    printResult(io, { staged: roles, copies }, () =>
      staged.length === 0
        ? 'nothing to prepare: no role has pending edits'
        : [
            ...roles.flatMap(({ role, requirements }) => [
              `staged ${role}`,
              ...(requirements ?? []).map(
                (r) =>
                  `  ${r.label}: ${r.signed}/${r.threshold}, missing: ${r.missing.join(', ') || 'none'}`,
              ),
            ]),
            ...copies.map((c) => `copied to ${c}`),
          ].join('\n'),
    );
    return 0;
  },
};

/** Check every signature of `incoming` that `md` lacks; nothing is added unless all are good. */
function checkImported(
  repo: Repository,
  role: string,
  md: Metadata,
  incoming: Metadata,
): ImportedSignature[] {
  const { ids } = authorized(repo, role);
  const data = md.signedBytes();
  const out: ImportedSignature[] = [];
  for (const signature of incoming.signatures.values() as Iterable<Signature>) {
    if (md.signatures.has(signature.keyid)) continue;
    const publicKey = publicKeyFor(repo, signature.keyid);
    if (!ids.has(signature.keyid) || publicKey === undefined) {
      throw new RepositoryEditError(
        `the file carries a signature by key ${signature.keyid}, which is not trusted to sign ${role} (trusted: ${[...ids].join(', ')}); nothing was imported`,
        { role },
        'ERR_TUF_KEY_NOT_AUTHORIZED',
      );
    }
    if (!Key.fromPublicKeyData(publicKey).verifySignature(signature, data)) {
      throw new RepositoryEditError(
        `the signature by key ${signature.keyid} does not verify over the staged ${role}; nothing was imported`,
        { role },
        'ERR_TUF_KEY_NOT_AUTHORIZED',
      );
    }
    out.push(new ImportedSignature(signature.keyid, publicKey, hexToBytes(signature.sig), data));
  }
  return out;
}

/** Read one carried file and check its new signatures (nothing is added yet). */
async function checkFile(repo: Repository, file: string, roleOption: string | undefined) {
  const { md: incoming } = await readMetadataFile(file);
  const role =
    roleOption ??
    path
      .basename(file)
      .replace(/^\d+\./, '')
      .replace(/\.json$/, '');
  const { pending } = authorized(repo, role);
  if (!pending)
    throw new InvalidStateError(
      `${role} has no staged edits; the file cannot be imported (was it already published?)`,
    );
  const md = repo.getMetadata(role);
  if (Buffer.compare(Buffer.from(md.signedBytes()), Buffer.from(incoming.signedBytes())) !== 0) {
    throw new InvalidStateError(
      `${file} was signed over a different ${role} than the one staged (staged version ${md.signed.version}, file version ${incoming.signed.version}): run tufota prepare --out again and re-sign`,
    );
  }
  return { file, role, signatures: checkImported(repo, role, md, incoming) };
}

/**
 * Import every file's signatures, all or nothing: each file is read and every signature checked
 * first, then each role gets its signatures in one batch and is re-staged once.
 */
async function importAll(io: Io, repo: Repository, files: string[], role: string | undefined) {
  const checked: Awaited<ReturnType<typeof checkFile>>[] = [];
  for (const file of files) checked.push(await checkFile(repo, file, role));
  const byRole = new Map<string, ImportedSignature[]>();
  for (const { role, signatures } of checked)
    byRole.set(role, [...(byRole.get(role) ?? []), ...signatures]);
  for (const [role, signatures] of byRole) await repo.addSignatures(role, signatures);
  return checked.map(({ file, role, signatures }) => {
    if (signatures.length === 0) warn(io, `${file} carries no new signature for ${role}`);
    return {
      file,
      role,
      imported: signatures.map((s) => s.keyid),
      requirements: roleSummary(repo, role),
    };
  });
}

export const importCommand: Command = {
  name: 'import',
  summary: 'import signatures from carried metadata files into the staged roles',
  usage: 'tufota import FILE... [--role ROLE]',
  description:
    'The role is --role, else the file name (targets.json → targets). Every signature of every FILE is checked before any is added: one bad signature imports nothing.',
  options: {
    role: {
      type: 'string',
      valueName: 'ROLE',
      description: 'the role the file is for (default: from its name)',
    },
  },
  positionals: { min: 1, max: 100 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const results = await importAll(
      io,
      repo,
      args.positionals.map((file) => path.resolve(io.cwd, file)),
      stringOption(args, 'role'),
    );
    printResult(io, { imported: results }, () =>
      results
        .flatMap((r) => [
          `${r.file}: ${r.imported.length} signature(s) imported into ${r.role}`,
          ...(r.requirements ?? []).map((q) => `  ${q.label}: ${q.signed}/${q.threshold}`),
        ])
        .join('\n'),
    );
    return 0;
  },
};
