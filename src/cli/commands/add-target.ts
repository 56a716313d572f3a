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
  openFileSource,
  type Repository,
  type TargetInfo,
} from '../../repository/index.js';
import {
  type Command,
  integerOption,
  listOption,
  type ParsedArgs,
  pairsOption,
  stringOption,
} from '../args.js';
import { type Io, printResult, progressBar, withProgress } from '../io.js';
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
  printResult(io, { added, files, ...outcome }, () =>
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
    'tufota add-target FILE... [--path TARGETPATH] [--hardware-id ID]... [--version V] [--release-counter N] | add-target --path TARGETPATH --length N --hash ALG=HEX...',
  description: [
    'The target path is --path (one FILE), else --prefix + the file name. The role is --role, else',
    'targets (following hash bins). custom gets hardwareIds, version and releaseCounter, merged',
    'over --custom JSON. Staged for signing unless --publish.',
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
    const options = {
      ...(hardwareIds.length > 0 ? { hardwareIds } : {}),
      ...(version === undefined ? {} : { version }),
      ...(releaseCounter === undefined ? {} : { releaseCounter }),
      ...(custom === undefined ? {} : { custom }),
      ...(role === undefined ? {} : { role }),
    };
    const info = targetInfoOf(args);
    if (info !== undefined) return addInfo(args, io, info, options);
    if (args.positionals.length === 0)
      throw new UsageError('give FILE..., or --path TARGETPATH with --length N and --hash ALG=HEX');
    const files = args.positionals.map((f) => path.resolve(io.cwd, f));
    const sizes: number[] = [];
    for (const file of files) {
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat === undefined || !stat.isFile())
        throw new UsageError(`${file} is not a readable file`);
      sizes.push(stat.size);
    }
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const added: AddedTarget[] = [];
    for (const [i, file] of files.entries()) {
      const targetPath = single ?? `${prefix}${path.basename(file)}`;
      if (targetPath.includes('\\'))
        throw new FormatError(`target path ${targetPath} contains a backslash; use /`);
      const bar = progressBar(io, `hashing ${path.basename(file)}`, sizes[i] as number);
      const target = await repo.addTarget(
        targetPath,
        withProgress(openFileSource(file), bar),
        options,
      );
      added.push(describeTarget(repo, target));
    }
    const outcome = await finishEdit(session, repo, args);
    printResult(io, { added, ...outcome }, () =>
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
