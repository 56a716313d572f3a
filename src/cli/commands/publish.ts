/**
 * `tufota publish`: sign what is staged with the keys this machine has (keyring, `--key`,
 * `--signer-command`) and publish it, with a new snapshot and timestamp, crash-safely.
 *
 * @module
 */
import { type Command, SIGNING_OPTIONS } from '../args.js';
import { printResult } from '../io.js';
import { describePublish, openRepository, openSession, publishNow } from '../session.js';

export const publishCommand: Command = {
  name: 'publish',
  summary: 'sign and publish staged edits, with a new snapshot and timestamp',
  usage: 'tufota publish [--key FILE]... [--unsafe-allow-rotation-window]',
  description: [
    'Everything is signed and checked before the first file is written: when a threshold is not met',
    'nothing changes and the error lists the key ids still missing (tufota status shows them too).',
    'Refused too, writing nothing, when any metadata clients would load (new or unchanged) is',
    'expired or expires within one hour (at most half its period): ERR_TUF_EXPIRING_METADATA names',
    'the role and what re-signs it (tufota refresh; tufota reset for a staged role signed too long ago).',
    'A published versioned file is never overwritten (ERR_TUF_PUBLISHED_FILE_CONFLICT).',
  ].join('\n'),
  options: {
    'unsafe-allow-rotation-window': {
      type: 'boolean',
      description:
        'publish a top-level key change even if the previous keys cannot sign it (clients refuse the repository while the root is being written)',
    },
    ...SIGNING_OPTIONS,
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const result = await publishNow(session, repo, args);
    printResult(io, result, () => describePublish(result));
    return 0;
  },
};
