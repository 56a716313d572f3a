/**
 * `tufota add-target`: copy target files into the repository (hashing them once, with a
 * progress bar on a terminal) and list them in their targets role.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FormatError, UsageError } from '../../errors.js';
import { openFileSource } from '../../repository/index.js';
import { type Command, integerOption, listOption, type ParsedArgs, stringOption } from '../args.js';
import { printResult, progressBar, withProgress } from '../io.js';
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

export const addTargetCommand: Command = {
  name: 'add-target',
  summary: 'add target files (copied into targets/ under their hashes) to a targets role',
  usage:
    'tufota add-target FILE... [--path TARGETPATH] [--hardware-id ID]... [--version V] [--release-counter N]',
  description: [
    'The target path is --path (one FILE), else --prefix + the file name. The role is --role, else',
    'targets (following hash bins). custom gets hardwareIds, version and releaseCounter, merged',
    'over --custom JSON. Staged for signing unless --publish.',
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
    ...EDIT_OPTIONS,
  },
  positionals: { min: 1, max: 1000 },
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
    const added: Array<{
      path: string;
      length: number;
      hashes: Record<string, string>;
      custom: Record<string, unknown> | null;
      role: string | undefined;
    }> = [];
    for (const [i, file] of files.entries()) {
      const targetPath = single ?? `${prefix}${path.basename(file)}`;
      if (targetPath.includes('\\'))
        throw new FormatError(`target path ${targetPath} contains a backslash; use /`);
      const bar = progressBar(io, `hashing ${path.basename(file)}`, sizes[i] as number);
      const target = await repo.addTarget(targetPath, withProgress(openFileSource(file), bar), {
        ...(hardwareIds.length > 0 ? { hardwareIds } : {}),
        ...(version === undefined ? {} : { version }),
        ...(releaseCounter === undefined ? {} : { releaseCounter }),
        ...(custom === undefined ? {} : { custom }),
        ...(role === undefined ? {} : { role }),
      });
      added.push({
        path: target.path,
        length: target.length,
        hashes: target.hashes,
        custom: target.custom ?? null,
        role: repo.getTarget(target.path)?.role,
      });
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
