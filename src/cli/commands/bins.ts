/**
 * `tufota bins create|resize`: succinct hash-bin delegation (TAP 15) for repositories with many
 * targets: each target lands in one of 2^N bins, so a release re-signs only the bins it touches.
 *
 * @module
 */
import { InvalidStateError, UsageError } from '../../errors.js';
import { MAX_BIN_BIT_LENGTH } from '../../repository/index.js';
import {
  type Command,
  integerOption,
  listOption,
  stringOption,
  unknownSubcommand,
} from '../args.js';
import { withHint } from '../exit-codes.js';
import { printResult } from '../io.js';
import {
  describePublish,
  EDIT_OPTIONS,
  finishEdit,
  openRepository,
  openSession,
} from '../session.js';
import { configKeysFromEdit, keyInputs } from './rotate.js';

export const binsCommand: Command = {
  name: 'bins',
  summary: 'delegate all targets to succinct hash bins, or change their number',
  usage: 'tufota bins create --bit-length N --add-key FILE... | bins resize --bit-length N',
  description: [
    'create  the delegator (default targets) must not delegate yet; targets added later go to their bin',
    'resize  rebuild the bins with a new bit length, moving every target (old bins stay listed)',
  ].join('\n'),
  options: {
    'bit-length': {
      type: 'string',
      valueName: 'N',
      description: `2^N bins (1 to ${MAX_BIN_BIT_LENGTH})`,
    },
    'add-key': {
      type: 'string',
      multiple: true,
      valueName: 'FILE',
      description: 'create: key the bins are signed with (repeatable)',
    },
    threshold: {
      type: 'string',
      valueName: 'N',
      description: 'create: signatures each bin needs (default 1)',
    },
    prefix: {
      type: 'string',
      valueName: 'NAME',
      description: 'create: bin name prefix (default bins)',
    },
    delegator: {
      type: 'string',
      valueName: 'ROLE',
      description: 'the delegating role (default targets)',
    },
    ...EDIT_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  subcommands: ['create', 'resize'],
  async run(args, io) {
    const action = args.positionals[0];
    if (action !== 'create' && action !== 'resize')
      throw unknownSubcommand('bins', action, ['create', 'resize']);
    const bitLength = integerOption(args, 'bit-length', 1, MAX_BIN_BIT_LENGTH);
    if (bitLength === undefined) throw new UsageError(`bins ${action} needs --bit-length N`);
    const delegator = stringOption(args, 'delegator');
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    let bins: string[];
    let added: Awaited<ReturnType<typeof keyInputs>>['added'] = [];
    if (action === 'create') {
      const keyFiles = listOption(args, 'add-key');
      if (keyFiles.length === 0) throw new UsageError('bins create needs --add-key FILE');
      const keys = await keyInputs(session, keyFiles);
      added = keys.added;
      const threshold = integerOption(args, 'threshold', 1, 1024);
      const prefix = stringOption(args, 'prefix');
      try {
        bins = repo.createHashBins({
          bitLength,
          keys: keys.inputs,
          ...(threshold === undefined ? {} : { threshold }),
          ...(prefix === undefined ? {} : { namePrefix: prefix }),
          ...(delegator === undefined ? {} : { delegator }),
        });
      } catch (error) {
        if (error instanceof InvalidStateError && /already delegates/.test(error.message)) {
          throw withHint(
            error,
            `if its delegations are hash bins, change their number with tufota bins resize --bit-length N${delegator === undefined ? '' : ` --delegator ${delegator}`}; otherwise put the bins under a role that delegates nothing (--delegator ROLE)`,
          );
        }
        throw error;
      }
    } else {
      bins = repo.resizeHashBins(bitLength, delegator === undefined ? {} : { delegator });
    }
    const outcome = await finishEdit(session, repo, args);
    await configKeysFromEdit(session, added);
    printResult(
      io,
      { bins: bins.length, first: bins[0], last: bins[bins.length - 1], ...outcome },
      () =>
        [
          `${bins.length} bins: ${bins[0]} … ${bins[bins.length - 1]}`,
          outcome.published === undefined
            ? `staged ${outcome.staged.length} role(s)`
            : describePublish(outcome.published),
        ].join('\n'),
    );
    return 0;
  },
};
