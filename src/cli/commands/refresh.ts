/**
 * `tufota refresh`: re-sign roles whose metadata expires soon (run it from cron or CI, well
 * inside the timestamp's validity period).
 *
 * @module
 */
import { type Command, flag, parseDuration, SIGNING_OPTIONS, stringOption } from '../args.js';
import { printResult } from '../io.js';
import { describePublish, loadSignersForPublish, openRepository, openSession } from '../session.js';

export const refreshCommand: Command = {
  name: 'refresh',
  summary: 're-sign roles that expire within a window (default: half their validity period)',
  usage: 'tufota refresh [--within DURATION] [--stage-only]',
  description: [
    'Roles due are given a new version and a fresh expiry, signed with the keys at hand and',
    'published. A due role whose keys are offline (root) fails the publish with the missing key',
    'ids: use --stage-only to stage it, sign it offline, then tufota publish. With --stage-only a',
    'due snapshot or timestamp is recorded in .tufota/resign.json and re-signed by that publish.',
  ].join('\n'),
  options: {
    within: {
      type: 'string',
      valueName: 'DURATION',
      description: 're-sign roles expiring within this (e.g. 12h, 30d)',
    },
    'stage-only': {
      type: 'boolean',
      description: 'stage the due roles for signing instead of publishing',
    },
    'unsafe-allow-rotation-window': { type: 'boolean', description: 'see tufota publish' },
    ...SIGNING_OPTIONS,
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const session = await openSession(args, io);
    const repo = await openRepository(session, args);
    const raw = stringOption(args, 'within');
    const within = raw === undefined ? undefined : parseDuration(raw, '--within');
    const marked = await repo.refresh({
      publish: false,
      ...(within === undefined ? {} : { within }),
    });
    if (marked.roles.length === 0) {
      printResult(
        io,
        { roles: [], published: null },
        'nothing is due: every role is valid beyond the window',
      );
      return 0;
    }
    if (flag(args, 'stage-only')) {
      const staged = await repo.prepare();
      // Snapshot and timestamp have no file to sign: prepare() records them, and the next
      // tufota publish re-signs them with their online keys.
      const resign = marked.roles.filter((r) => r === 'snapshot' || r === 'timestamp');
      printResult(io, { roles: marked.roles, staged, resign, published: null }, () =>
        [
          `due: ${marked.roles.join(', ')}`,
          ...(staged.length > 0
            ? [`staged for signing: ${staged.join(', ')} (tufota status shows missing signatures)`]
            : []),
          ...(resign.length > 0
            ? [`marked ${resign.join(' and ')} for re-signing by the next tufota publish`]
            : []),
          'run tufota publish to publish',
        ].join('\n'),
      );
      return 0;
    }
    await loadSignersForPublish(session, repo);
    const result = await repo.publish({
      unsafeAllowRotationWindow: flag(args, 'unsafe-allow-rotation-window'),
    });
    printResult(io, { roles: marked.roles, published: result }, () => describePublish(result));
    return 0;
  },
};
