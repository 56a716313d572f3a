/**
 * `tufota delegate`: delegate target paths (or path hash prefixes) to a new targets role, or
 * remove a delegation (`--remove`).
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import {
  type Command,
  flag,
  integerOption,
  listOption,
  type ParsedArgs,
  stringOption,
} from '../args.js';
import { type Io, printResult } from '../io.js';
import {
  describePublish,
  EDIT_OPTIONS,
  finishEdit,
  openRepository,
  openSession,
} from '../session.js';
import { configKeysFromEdit, keyInputs } from './rotate.js';

export const delegateCommand: Command = {
  name: 'delegate',
  summary: 'delegate target paths to a new role with its own keys',
  usage:
    'tufota delegate ROLE (--paths PATTERN... | --path-hash-prefix HEX...) --add-key FILE... [--threshold N] | delegate ROLE --remove',
  description: [
    'Patterns are shell-style (firmware/board-a/*; * does not cross /). The delegating role',
    '(--delegator, default targets) is edited and staged; the new role starts empty.',
    'With --remove the delegation goes (with the roles below it, and keys no other role of the',
    'delegator uses): clients stop finding its targets. Its metadata stays listed in snapshot and',
    'served, as clients require; delegating the name again later continues above its version.',
  ].join('\n'),
  options: {
    paths: {
      type: 'string',
      multiple: true,
      valueName: 'PATTERN',
      description: 'target path pattern the role is trusted for (repeatable)',
    },
    'path-hash-prefix': {
      type: 'string',
      multiple: true,
      valueName: 'HEX',
      description: 'sha256 prefix of target paths (repeatable)',
    },
    'add-key': {
      type: 'string',
      multiple: true,
      valueName: 'FILE',
      description: 'key the role is signed with (repeatable)',
    },
    threshold: {
      type: 'string',
      valueName: 'N',
      description: 'signatures the role needs (default 1)',
    },
    terminating: {
      type: 'boolean',
      description: 'clients stop searching below this role for its paths',
    },
    'hardware-id': {
      type: 'string',
      multiple: true,
      valueName: 'ID',
      description: 'Uptane: the role vouches only for images of this hardware id (repeatable)',
    },
    delegator: {
      type: 'string',
      valueName: 'ROLE',
      description: 'the delegating role (default targets; with --remove: checked)',
    },
    remove: { type: 'boolean', description: 'remove the delegation of ROLE instead' },
    ...EDIT_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const name = args.positionals[0] as string;
    if (flag(args, 'remove')) return remove(name, args, io);
    const paths = listOption(args, 'paths');
    const prefixes = listOption(args, 'path-hash-prefix');
    if (paths.length > 0 === prefixes.length > 0)
      throw new UsageError('give exactly one of --paths and --path-hash-prefix');
    const keyFiles = listOption(args, 'add-key');
    if (keyFiles.length === 0)
      throw new UsageError('the delegated role needs keys: --add-key FILE');
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const { added, inputs } = await keyInputs(session, keyFiles);
    const threshold = integerOption(args, 'threshold', 1, 1024);
    const delegator = stringOption(args, 'delegator');
    const hardwareIds = listOption(args, 'hardware-id');
    repo.delegate(name, {
      ...(hardwareIds.length > 0 ? { hardwareIds } : {}),
      keys: inputs,
      ...(paths.length > 0 ? { paths } : { pathHashPrefixes: prefixes }),
      ...(threshold === undefined ? {} : { threshold }),
      ...(delegator === undefined ? {} : { delegator }),
      terminating: flag(args, 'terminating'),
    });
    const outcome = await finishEdit(session, repo, args);
    await configKeysFromEdit(session, added);
    printResult(
      io,
      {
        role: name,
        delegator: delegator ?? 'targets',
        keyids: added.map((k) => k.keyid),
        ...outcome,
      },
      () =>
        [
          `delegated ${paths.length > 0 ? paths.join(', ') : `hash prefixes ${prefixes.join(', ')}`} to ${name}`,
          outcome.published === undefined
            ? `staged: ${outcome.staged.join(', ')}`
            : describePublish(outcome.published),
        ].join('\n'),
    );
    return 0;
  },
};

async function remove(name: string, args: ParsedArgs, io: Io): Promise<number> {
  for (const option of [
    'paths',
    'path-hash-prefix',
    'add-key',
    'threshold',
    'terminating',
    'hardware-id',
  ]) {
    if (args.values[option] !== undefined)
      throw new UsageError(`--remove takes no --${option}: it removes the whole delegation`);
  }
  const session = await openSession(args, io);
  const repo = await openRepository(session, args);
  const delegator = stringOption(args, 'delegator');
  const removed = repo.removeDelegation(name, delegator === undefined ? {} : { delegator });
  const outcome = await finishEdit(session, repo, args);
  printResult(io, { removed: removed.roles, droppedKeys: removed.keyids, ...outcome }, () =>
    [
      `removed the delegation of ${removed.roles.join(', ')}; their metadata stays listed in snapshot`,
      ...(removed.keyids.length > 0 ? [`dropped keys: ${removed.keyids.join(', ')}`] : []),
      outcome.published === undefined
        ? `staged: ${outcome.staged.join(', ')}`
        : describePublish(outcome.published),
    ].join('\n'),
  );
  return 0;
}
