/**
 * Walk a repository directory as a client would (TUF 5.3–5.7) and report **every** problem,
 * instead of stopping at the first as a client must: the operator wants the full list before
 * publishing or after an incident.
 *
 * Checked, in client order:
 * 1. the root chain `1.root.json … N.root.json`: no gaps, version equal to the file name, each
 *    signed by a threshold of its own root keys and of the previous root's (TUF 5.3.4), the
 *    newest not expired;
 * 2. `timestamp.json`: signed by the root's timestamp keys, not expired;
 * 3. `V.snapshot.json` named by the timestamp: present, length and hashes as listed, version as
 *    listed, signed, not expired;
 * 4. every targets role reachable from `targets` through delegations (including hash bins):
 *    listed in snapshot, present, length/hashes/version as listed, signed by a threshold of its
 *    delegator's keys, not expired;
 * 5. every target file: each consistent copy `targets/DIR/HASH.NAME` present, with the listed
 *    length and every listed hash.
 *
 * When a check fails the walk continues with what it has (an unsigned root is still used to check
 * the roles below it), so one run lists independent problems. A file that cannot be parsed stops
 * only the checks that need it.
 *
 * Not checked: the staging area (`tufota status` reports it), metadata versions older than the
 * ones the current timestamp and snapshot name (clients never fetch them again).
 *
 * Adapter (reads files). Safe for concurrent use on different directories.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isSupportedHashAlgorithm } from '../crypto/index.js';
import { TufError } from '../errors.js';
import {
  Metadata,
  type MetaFile,
  type Root,
  type TargetFile,
  type Targets,
} from '../models/index.js';
import { checkRoleFileName, consistentTargetPath } from '../repository/index.js';
import { hashFile } from '../storage/file-chunks.js';

/** Largest metadata file read. */
const MAX_METADATA_LENGTH = 64 * 1024 * 1024;
/** Most root versions followed, as a client caps its rotation loop. */
const MAX_ROOT_VERSIONS = 10_000;

/** Kinds of problem, stable for `--json` consumers. */
export type ProblemKind =
  | 'missing'
  | 'malformed'
  | 'unsigned'
  | 'expired'
  | 'bad-version'
  | 'length-or-hash-mismatch'
  | 'not-listed';

/** One problem found. */
export interface Problem {
  kind: ProblemKind;
  /** The role concerned, if any. */
  role?: string;
  /** The file concerned, relative to the repository directory. */
  file?: string;
  /** The target path, for target-file problems. */
  target?: string;
  message: string;
}

/** One role as found. */
export interface RoleReport {
  role: string;
  version: number;
  expires: string;
  file: string;
}

/** The result of {@link verifyRepository}. */
export interface VerifyReport {
  ok: boolean;
  referenceTime: string;
  roles: RoleReport[];
  targets: { checked: number; files: number; bytes: number };
  problems: Problem[];
}

/** Options of {@link verifyRepository}. */
export interface VerifyOptions {
  /** Expiry is judged at this time. */
  referenceTime: Date;
  /** Hash target files (default true). */
  checkTargets?: boolean;
  /** Called with the total bytes of target files before hashing, then with each chunk's size. */
  onTargetBytes?: (event: { total?: number; delta?: number }) => void;
}

class Walk {
  readonly problems: Problem[] = [];
  readonly roles: RoleReport[] = [];
  constructor(
    readonly dir: string,
    readonly referenceTime: Date,
  ) {}

  add(problem: Problem): void {
    this.problems.push(problem);
  }

  async read(file: string, role: string): Promise<Uint8Array | undefined> {
    try {
      const full = path.join(this.dir, file);
      const stat = await fs.stat(full);
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      if (stat.size > MAX_METADATA_LENGTH) {
        this.add({
          kind: 'malformed',
          role,
          file,
          message: `${file} is larger than ${MAX_METADATA_LENGTH} bytes`,
        });
        return undefined;
      }
      return new Uint8Array(await fs.readFile(full));
    } catch (error) {
      this.add({
        kind: 'missing',
        role,
        file,
        message: `${file} is missing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      });
      return undefined;
    }
  }

  parse<K extends 'root' | 'timestamp' | 'snapshot' | 'targets'>(
    bytes: Uint8Array,
    type: K,
    role: string,
    file: string,
  ) {
    try {
      return Metadata.fromBytes(bytes, type);
    } catch (error) {
      this.add({
        kind: 'malformed',
        role,
        file,
        message: `${file} is not valid ${type} metadata: ${(error as Error).message}`,
      });
      return undefined;
    }
  }

  checkSigned(
    delegator: Metadata<Root> | Metadata<Targets>,
    label: string,
    role: string,
    md: Metadata,
    file: string,
    bytes?: Uint8Array,
  ): void {
    try {
      const result = delegator.getVerificationResult(role, md, undefined, bytes);
      if (!result.verified) {
        this.add({
          kind: 'unsigned',
          role,
          file,
          message: `${file}: ${result.signed.size} valid signature(s) of the ${result.threshold} that ${label} requires (missing: ${[...result.unsigned].join(', ') || 'none'})`,
        });
      }
    } catch (error) {
      this.add({ kind: 'unsigned', role, file, message: `${file}: ${(error as Error).message}` });
    }
  }

  checkExpiry(md: Metadata, role: string, file: string): void {
    if (md.signed.isExpired(this.referenceTime)) {
      this.add({
        kind: 'expired',
        role,
        file,
        message: `${role} version ${md.signed.version} expired at ${md.signed.expires.toISOString()} (reference time ${this.referenceTime.toISOString()}); run tufota refresh`,
      });
    }
  }

  checkListed(meta: MetaFile, bytes: Uint8Array, role: string, file: string): void {
    try {
      meta.verifyLengthAndHashes(bytes, role);
    } catch (error) {
      this.add({
        kind: 'length-or-hash-mismatch',
        role,
        file,
        message: `${file}: ${(error as Error).message}`,
      });
    }
  }

  record(md: Metadata, role: string, file: string): void {
    this.roles.push({
      role,
      version: md.signed.version,
      expires: md.signed.expires.toISOString(),
      file,
    });
  }
}

async function walkRoots(walk: Walk): Promise<Metadata<Root> | undefined> {
  const names = await fs.readdir(path.join(walk.dir, 'metadata')).catch(() => [] as string[]);
  const versions = names
    .map((n) => /^([1-9][0-9]{0,15})\.root\.json$/.exec(n)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  const newest = Math.min(Math.max(0, ...versions), MAX_ROOT_VERSIONS);
  if (newest === 0) {
    walk.add({
      kind: 'missing',
      role: 'root',
      file: 'metadata/1.root.json',
      message: 'metadata/ holds no N.root.json: this is not a repository (or not yet created)',
    });
    return undefined;
  }
  let trusted: Metadata<Root> | undefined;
  for (let version = 1; version <= newest; version++) {
    const file = `metadata/${version}.root.json`;
    const bytes = await walk.read(file, 'root');
    if (bytes === undefined) continue;
    const md = walk.parse(bytes, 'root', 'root', file);
    if (md === undefined) continue;
    if (md.signed.version !== version) {
      walk.add({
        kind: 'bad-version',
        role: 'root',
        file,
        message: `${file} holds version ${md.signed.version}`,
      });
    }
    // TUF 5.3.4: signed by the trusted (previous) root and by the new root itself.
    if (trusted !== undefined)
      walk.checkSigned(
        trusted,
        `previous root version ${trusted.signed.version}`,
        'root',
        md,
        file,
      );
    walk.checkSigned(md, `root version ${md.signed.version} itself`, 'root', md, file);
    trusted = md;
    if (version === newest) {
      walk.checkExpiry(md, 'root', file);
      walk.record(md, 'root', file);
    }
  }
  return trusted;
}

/** Every targets role reachable from `targets`, with its delegator, breadth first. */
async function walkTargets(
  walk: Walk,
  root: Metadata<Root>,
  meta: Record<string, MetaFile>,
): Promise<Map<string, Metadata<Targets>>> {
  const found = new Map<string, Metadata<Targets>>();
  const queue: Array<{
    name: string;
    delegator: Metadata<Root> | Metadata<Targets>;
    label: string;
  }> = [{ name: 'targets', delegator: root, label: `root version ${root.signed.version}` }];
  const seen = new Set<string>(['targets']);
  while (queue.length > 0) {
    const { name, delegator, label } = queue.shift() as (typeof queue)[number];
    try {
      checkRoleFileName(name);
    } catch (error) {
      walk.add({
        kind: 'malformed',
        role: name,
        message: `role name ${JSON.stringify(name)} cannot be a file name: ${(error as Error).message}`,
      });
      continue;
    }
    const entry = Object.hasOwn(meta, `${name}.json`) ? meta[`${name}.json`] : undefined;
    if (entry === undefined) {
      walk.add({
        kind: 'not-listed',
        role: name,
        message: `snapshot does not list ${name}.json, which ${label.replace(/ version.*/, '')} delegates`,
      });
      continue;
    }
    const file = `metadata/${entry.version}.${name}.json`;
    const bytes = await walk.read(file, name);
    if (bytes === undefined) continue;
    walk.checkListed(entry, bytes, name, file);
    const md = walk.parse(bytes, 'targets', name, file);
    if (md === undefined) continue;
    if (md.signed.version !== entry.version) {
      walk.add({
        kind: 'bad-version',
        role: name,
        file,
        message: `${file} holds version ${md.signed.version}, snapshot lists ${entry.version}`,
      });
    }
    walk.checkSigned(delegator, label, name, md, file);
    walk.checkExpiry(md, name, file);
    walk.record(md, name, file);
    found.set(name, md);
    const delegations = md.signed.delegations;
    const children =
      delegations?.succinctRoles !== undefined
        ? [...delegations.succinctRoles.getRoles()]
        : (delegations?.roles ?? []).map((r) => r.name);
    for (const child of children) {
      if (seen.has(child)) continue;
      seen.add(child);
      queue.push({ name: child, delegator: md, label: `${name} version ${md.signed.version}` });
    }
  }
  return found;
}

async function checkTargetFiles(
  walk: Walk,
  roles: Map<string, Metadata<Targets>>,
  onBytes: VerifyOptions['onTargetBytes'],
) {
  const jobs: Array<{ role: string; target: TargetFile; file: string }> = [];
  const seenFiles = new Set<string>();
  let checked = 0;
  for (const [role, md] of roles) {
    for (const target of Object.values(md.signed.targets)) {
      checked += 1;
      // The models keep odd names as signed (issue 9); never join one onto the repository
      // directory, which would read files outside it.
      const unsafe = target.unsafePathReason;
      if (unsafe !== undefined) {
        walk.add({
          kind: 'malformed',
          role,
          target: target.path,
          message: `target ${JSON.stringify(target.path)} is refused because ${unsafe}; clients will not install it`,
        });
        continue;
      }
      for (const [algorithm, digest] of Object.entries(target.hashes)) {
        if (!isSupportedHashAlgorithm(algorithm)) {
          walk.add({
            kind: 'malformed',
            role,
            target: target.path,
            message: `target ${target.path} lists hash algorithm ${algorithm}, which clients cannot check`,
          });
          continue;
        }
        const file = consistentTargetPath(target.path, digest);
        if (seenFiles.has(`${role}\u0000${file}`)) continue;
        seenFiles.add(`${role}\u0000${file}`);
        jobs.push({ role, target, file });
      }
    }
  }
  const sizes = await Promise.all(
    jobs.map((job) =>
      fs.stat(path.join(walk.dir, job.file)).then(
        (s) => (s.isFile() ? s.size : -1),
        () => -1,
      ),
    ),
  );
  onBytes?.({ total: sizes.reduce((a, b) => a + Math.max(0, b), 0) });
  let bytes = 0;
  for (const [i, job] of jobs.entries()) {
    const { role, target, file } = job;
    if ((sizes[i] as number) < 0) {
      walk.add({
        kind: 'missing',
        role,
        target: target.path,
        file,
        message: `target ${target.path}: ${file} is missing`,
      });
      continue;
    }
    const algorithms = Object.keys(target.hashes).filter(isSupportedHashAlgorithm);
    try {
      // One byte past the listed length is enough to see a longer file.
      const result = await hashFile(path.join(walk.dir, file), algorithms, {
        maxLength: target.length + 1,
        onChunk: (chunk) => onBytes?.({ delta: chunk.byteLength }),
      });
      bytes += result.length;
      const wrong = algorithms.filter((a) => result.hashes[a] !== target.hashes[a]);
      if (result.length !== target.length || wrong.length > 0) {
        walk.add({
          kind: 'length-or-hash-mismatch',
          role,
          target: target.path,
          file,
          message: `target ${target.path}: ${file} has ${result.length} bytes (listed ${target.length})${wrong.length > 0 ? ` and wrong ${wrong.join(', ')}` : ''}`,
        });
      }
    } catch (error) {
      walk.add({
        kind:
          error instanceof TufError && error.code === 'ERR_TUF_LENGTH_OR_HASH_MISMATCH'
            ? 'length-or-hash-mismatch'
            : 'missing',
        role,
        target: target.path,
        file,
        message: `target ${target.path}: ${file}: ${(error as Error).message}`,
      });
    }
  }
  return { checked, files: jobs.length, bytes };
}

/**
 * Verify the repository in `dir` and list every problem.
 *
 * @example
 * ```ts
 * const report = await verifyRepository('/srv/tuf', { referenceTime: new Date() });
 * for (const p of report.problems) console.log(p.kind, p.message);
 * ```
 */
export async function verifyRepository(dir: string, options: VerifyOptions): Promise<VerifyReport> {
  const walk = new Walk(path.resolve(dir), options.referenceTime);
  let targets = { checked: 0, files: 0, bytes: 0 };
  const root = await walkRoots(walk);
  if (root !== undefined) {
    const tsFile = 'metadata/timestamp.json';
    const tsBytes = await walk.read(tsFile, 'timestamp');
    const timestamp =
      tsBytes === undefined ? undefined : walk.parse(tsBytes, 'timestamp', 'timestamp', tsFile);
    if (timestamp !== undefined) {
      walk.checkSigned(root, `root version ${root.signed.version}`, 'timestamp', timestamp, tsFile);
      walk.checkExpiry(timestamp, 'timestamp', tsFile);
      walk.record(timestamp, 'timestamp', tsFile);
      const snapMeta = timestamp.signed.snapshotMeta;
      const snapFile = `metadata/${snapMeta.version}.snapshot.json`;
      const snapBytes = await walk.read(snapFile, 'snapshot');
      const snapshot =
        snapBytes === undefined
          ? undefined
          : walk.parse(snapBytes, 'snapshot', 'snapshot', snapFile);
      if (snapBytes !== undefined) walk.checkListed(snapMeta, snapBytes, 'snapshot', snapFile);
      if (snapshot !== undefined) {
        if (snapshot.signed.version !== snapMeta.version) {
          walk.add({
            kind: 'bad-version',
            role: 'snapshot',
            file: snapFile,
            message: `${snapFile} holds version ${snapshot.signed.version}, timestamp lists ${snapMeta.version}`,
          });
        }
        walk.checkSigned(
          root,
          `root version ${root.signed.version}`,
          'snapshot',
          snapshot,
          snapFile,
        );
        walk.checkExpiry(snapshot, 'snapshot', snapFile);
        walk.record(snapshot, 'snapshot', snapFile);
        const roles = await walkTargets(walk, root, snapshot.signed.meta);
        if (options.checkTargets !== false)
          targets = await checkTargetFiles(walk, roles, options.onTargetBytes);
      }
    }
  }
  return {
    ok: walk.problems.length === 0,
    referenceTime: options.referenceTime.toISOString(),
    roles: walk.roles,
    targets,
    problems: walk.problems,
  };
}
