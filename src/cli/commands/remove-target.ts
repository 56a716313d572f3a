/**
 * `tufota remove-target`: stop listing targets (their files stay: older metadata names them).
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import { type Command, flag, stringOption } from '../args.js';
import { printResult } from '../io.js';
import {
  describePublish,
  EDIT_OPTIONS,
  finishEdit,
  openRepository,
  openSession,
} from '../session.js';

export const removeTargetCommand: Command = {
  name: 'remove-target',
  summary: 'stop listing targets (files stay served for clients holding older metadata)',
  usage: 'tufota remove-target TARGETPATH... [--role ROLE] [--publish]',
  description: 'Fails, changing nothing, when a path is not listed (unless --missing-ok).',
  options: {
    role: {
      type: 'string',
      valueName: 'ROLE',
      description: 'the targets role listing the paths (default: found)',
    },
    'missing-ok': { type: 'boolean', description: 'ignore paths that are not listed' },
    ...EDIT_OPTIONS,
  },
  positionals: { min: 1, max: 1000 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const role = stringOption(args, 'role');
    const removed: string[] = [];
    const missing: string[] = [];
    for (const targetPath of args.positionals) {
      if (repo.removeTarget(targetPath, role === undefined ? {} : { role }))
        removed.push(targetPath);
      else missing.push(targetPath);
    }
    if (missing.length > 0 && !flag(args, 'missing-ok')) {
      throw new UsageError(
        `not listed: ${missing.join(', ')}; nothing was changed (see tufota status, or pass --missing-ok)`,
      );
    }
    const outcome = await finishEdit(session, repo, args);
    printResult(io, { removed, missing, ...outcome }, () =>
      [
        ...removed.map((p) => `removed ${p}`),
        outcome.published === undefined
          ? `staged: ${outcome.staged.join(', ') || '(nothing)'}`
          : describePublish(outcome.published),
      ].join('\n'),
    );
    return 0;
  },
};
