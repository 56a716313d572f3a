/**
 * `tufota add-target`: copy target files into the repository (hashing them once, with a
 * progress bar on a terminal) and list them in their targets role — or, with `--length` and
 * `--hash`, list a target whose file lives elsewhere (bulk imports), without reading any file.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FormatError, UsageError } from '../../errors.js';
import type { TargetFile } from '../../models/index.js';
import {
  type AddTargetOptions,
  consistentTargetPath,
  type IfExists,
  openFileSource,
  type Repository,
  type TargetInfo,
} from '../../repository/index.js';
import {
  type Command,
  flag,
  integerOption,
  listOption,
  type ParsedArgs,
  pairsOption,
  stringOption,
} from '../args.js';
import { type Io, note, printResult, progressBar, withProgress } from '../io.js';
import {
  describePublish,
  EDIT_OPTIONS,
  finishEdit,
  openRepository,
  openSession,
} from '../session.js';

/** Largest `--custom` JSON accepted on the command line. */
const MAX_CUSTOM_ARG = 64 * 1024;

function customOf(args: ParsedArgs): Record<string, unknown> | undefined {
  const raw = stringOption(args, 'custom');
  if (raw === undefined) return undefined;
  if (raw.length > MAX_CUSTOM_ARG)
    throw new UsageError(`--custom is longer than ${MAX_CUSTOM_ARG} characters`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`--custom must be a JSON object: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError('--custom must be a JSON object');
  return value as Record<string, unknown>;
}

/** `--if-exists` / `--replace`. */
function ifExistsOf(args: ParsedArgs): IfExists {
  const raw = stringOption(args, 'if-exists');
  if (flag(args, 'replace')) {
    if (raw !== undefined && raw !== 'replace')
      throw new UsageError(`--replace contradicts --if-exists ${raw}`);
    return 'replace';
  }
  if (raw === undefined) return 'fail';
  if (raw !== 'fail' && raw !== 'skip' && raw !== 'replace')
    throw new UsageError(`--if-exists must be fail, skip or replace, got ${JSON.stringify(raw)}`);
  return raw;
}

/** One file to add and its target path. */
interface Input {
  file: string;
  targetPath: string;
  size: number;
}

/**
 * The files to add: each FILE as `--path` or prefix + its name; each DIR walked recursively,
 * target paths prefix + the path relative to DIR with `/` separators, in sorted order.
 *
 * @throws UsageError for a missing argument, `--path` with a directory, or a symbolic link that
 *   leads outside its directory (or to a directory): nothing is added.
 */
async function collectInputs(
  args: string[],
  prefix: string,
  single: string | undefined,
): Promise<Input[]> {
  const out: Input[] = [];
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => undefined);
    if (stat?.isDirectory()) {
      if (single !== undefined)
        throw new UsageError(`--path names one file, but ${arg} is a directory: use --prefix`);
      const root = await fs.realpath(arg);
      await walk(root, root, prefix, out);
    } else if (stat?.isFile()) {
      out.push({
        file: arg,
        targetPath: single ?? `${prefix}${path.basename(arg)}`,
        size: stat.size,
      });
    } else {
      throw new UsageError(`${arg} is not a readable file or directory`);
    }
  }
  if (out.length === 0) throw new UsageError(`no files to add in ${args.join(', ')}`);
  return out;
}

async function walk(root: string, dir: string, prefix: string, out: Input[]): Promise<void> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    const relative = path.relative(root, full).split(path.sep).join('/');
    if (entry.isDirectory()) {
      await walk(root, full, prefix, out);
      continue;
    }
    let file = full;
    if (entry.isSymbolicLink()) {
      const real = await fs.realpath(full).catch(() => undefined);
      if (real === undefined || !(real === root || real.startsWith(`${root}${path.sep}`))) {
        throw new UsageError(
          `${full} is a symbolic link leading outside ${root}; refusing to publish it (nothing was added)`,
        );
      }
      file = real;
    }
    const stat = await fs.stat(file);
    if (stat.isDirectory()) {
      throw new UsageError(
        `${full} is a symbolic link to a directory; links to directories are not followed (nothing was added)`,
      );
    }
    if (!stat.isFile()) continue; // sockets, FIFOs, devices: not release artifacts
    out.push({ file, targetPath: `${prefix}${relative}`, size: stat.size });
  }
}

interface AddedTarget {
  path: string;
  length: number;
  hashes: Record<string, string>;
  custom: Record<string, unknown> | null;
  role: string | undefined;
}

function describeTarget(repo: Repository, target: TargetFile): AddedTarget {
  return {
    path: target.path,
    length: target.length,
    hashes: target.hashes,
    custom: target.custom ?? null,
    role: repo.getTarget(target.path)?.role,
  };
}

/** `--length` and `--hash`, or `undefined` when neither is given. */
function targetInfoOf(args: ParsedArgs): TargetInfo | undefined {
  const length = integerOption(args, 'length', 0);
  const hashes = pairsOption(args, 'hash');
  if (length === undefined && hashes.size === 0) return undefined;
  if (args.positionals.length > 0)
    throw new UsageError('--length and --hash describe a target without its file: give no FILE');
  if (length === undefined || hashes.size === 0)
    throw new UsageError('a target without its file needs both --length N and --hash ALG=HEX');
  return { length, hashes: Object.fromEntries(hashes) };
}

/** List a target from its length and hashes (`Repository.addTargetInfo`); no file is copied. */
async function addInfo(
  args: ParsedArgs,
  io: Io,
  info: TargetInfo,
  options: AddTargetOptions,
  warnings: string[],
): Promise<number> {
  const targetPath = stringOption(args, 'path');
  if (targetPath === undefined)
    throw new UsageError('a target without its file needs --path TARGETPATH');
  if (stringOption(args, 'prefix') !== undefined)
    throw new UsageError('--prefix names FILE arguments; use --path for a target without its file');
  const session = await openSession(args, io);
  const repo = await openRepository(session, args);
  const target = repo.addTargetInfo(targetPath, info, options);
  const files = [...new Set(Object.values(target.hashes))].map((digest) =>
    consistentTargetPath(target.path, digest),
  );
  const outcome = await finishEdit(session, repo, args);
  const added = [describeTarget(repo, target)];
  // After success, and in the JSON result rather than on stderr (which --json keeps for errors).
  for (const w of warnings) note(io, `warning: ${w}`);
  printResult(io, { added, files, warnings, ...outcome }, () =>
    [
      `added ${target.path} (${target.length} bytes, file not copied) to ${added[0]?.role}`,
      `serve its bytes as: ${files.join(', ')}`,
      outcome.published === undefined
        ? `staged: ${outcome.staged.join(', ')}`
        : describePublish(outcome.published),
    ].join('\n'),
  );
  return 0;
}

export const addTargetCommand: Command = {
  name: 'add-target',
  summary: 'add target files (copied into targets/ under their hashes) to a targets role',
  usage:
    'tufota add-target FILE|DIR... [--path TARGETPATH] [--prefix P/] [--hardware-id ID]... [--version V] [--release-counter N] [--if-exists fail|skip|replace] | add-target --path TARGETPATH --length N --hash ALG=HEX...',
  description: [
    'The target path is --path (one FILE), else --prefix + the file name. A DIR adds every file',
    'below it, as --prefix + its path relative to DIR (symbolic links to files inside DIR are',
    'followed; links leading outside it, or to directories, are refused). The role is --role,',
    'else targets (following hash bins). custom gets hardwareIds, version (semantic) and',
    'releaseCounter (integer >= 0), merged over --custom JSON and checked as devices check them.',
    'A path the role already lists is refused unless --if-exists skip|replace (or --replace).',
    'A warning is printed when no hardware id is given: devices refuse such targets by default.',
    'Staged for signing unless --publish.',
    'Without FILE, --length and --hash (sha256=HEX, sha512=HEX) list a target whose file is not',
    'copied: place it yourself at each targets/DIR/HASH.NAME printed (tufota verify checks).',
  ].join('\n'),
  options: {
    path: {
      type: 'string',
      valueName: 'TARGETPATH',
      description: 'target path for a single FILE (e.g. firmware/board-a/1.2.0.img)',
    },
    prefix: { type: 'string', valueName: 'DIR/', description: 'target path prefix for each FILE' },
    role: {
      type: 'string',
      valueName: 'ROLE',
      description: 'targets role to list the targets in (default targets)',
    },
    'hardware-id': {
      type: 'string',
      multiple: true,
      valueName: 'ID',
      description: 'hardware the image is for (custom.hardwareIds; repeatable)',
    },
    version: {
      type: 'string',
      valueName: 'SEMVER',
      description: 'release version (custom.version)',
    },
    'release-counter': {
      type: 'string',
      valueName: 'N',
      description: 'anti-rollback counter (custom.releaseCounter)',
    },
    custom: {
      type: 'string',
      valueName: 'JSON',
      description: 'custom object to store with the target',
    },
    length: {
      type: 'string',
      valueName: 'N',
      description: 'without FILE: the target length in bytes (with --hash and --path)',
    },
    hash: {
      type: 'string',
      multiple: true,
      valueName: 'ALG=HEX',
      description: 'without FILE: a digest of the target, e.g. sha256=… (repeatable)',
    },
    'if-exists': {
      type: 'string',
      valueName: 'fail|skip|replace',
      description:
        'when the role already lists the target path: fail (default, nothing changed), skip it, or replace it',
    },
    replace: { type: 'boolean', description: 'same as --if-exists replace' },
    ...EDIT_OPTIONS,
  },
  positionals: { min: 0, max: 1000 },
  async run(args, io) {
    const single = stringOption(args, 'path');
    if (single !== undefined && args.positionals.length > 1)
      throw new UsageError('--path names one target; give one FILE or use --prefix');
    const prefix = stringOption(args, 'prefix') ?? '';
    const hardwareIds = listOption(args, 'hardware-id');
    const version = stringOption(args, 'version');
    const releaseCounter = integerOption(args, 'release-counter', 0);
    const custom = customOf(args);
    const role = stringOption(args, 'role');
    const ifExists = ifExistsOf(args);
    const options: AddTargetOptions = {
      ifExists,
      ...(hardwareIds.length > 0 ? { hardwareIds } : {}),
      ...(version === undefined ? {} : { version }),
      ...(releaseCounter === undefined ? {} : { releaseCounter }),
      ...(custom === undefined ? {} : { custom }),
      ...(role === undefined ? {} : { role }),
    };
    const customIds = custom?.hardwareIds;
    const warnings =
      hardwareIds.length === 0 && (!Array.isArray(customIds) || customIds.length === 0)
        ? [
            'no --hardware-id given: devices refuse a target without custom.hardwareIds unless they allow it unsafely',
          ]
        : [];
    const info = targetInfoOf(args);
    if (info !== undefined) return addInfo(args, io, info, options, warnings);
    if (args.positionals.length === 0)
      throw new UsageError('give FILE..., or --path TARGETPATH with --length N and --hash ALG=HEX');
    const inputs = await collectInputs(
      args.positionals.map((f) => path.resolve(io.cwd, f)),
      prefix,
      single,
    );
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const added: AddedTarget[] = [];
    const skipped: string[] = [];
    for (const { file, targetPath, size } of inputs) {
      if (targetPath.includes('\\'))
        throw new FormatError(`target path ${targetPath} contains a backslash; use /`);
      const before = repo.getTarget(targetPath)?.target;
      const bar = progressBar(io, `hashing ${path.basename(file)}`, size);
      const target = await repo.addTarget(
        targetPath,
        withProgress(openFileSource(file), bar),
        options,
      );
      if (ifExists === 'skip' && before !== undefined && target === before)
        skipped.push(target.path);
      else added.push(describeTarget(repo, target));
    }
    for (const p of skipped) note(io, `skipped ${p}: already listed (--if-exists skip)`);
    const outcome = await finishEdit(session, repo, args);
    for (const w of warnings) note(io, `warning: ${w}`);
    printResult(io, { added, skipped, warnings, ...outcome }, () =>
      [
        ...added.map((t) => `added ${t.path} (${t.length} bytes) to ${t.role}`),
        outcome.published === undefined
          ? `staged: ${outcome.staged.join(', ')}`
          : describePublish(outcome.published),
      ].join('\n'),
    );
    return 0;
  },
};
