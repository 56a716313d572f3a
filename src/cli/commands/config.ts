/**
 * `tufota config show|set`: the repository policy that every later command applies — today the
 * validity periods of each role (`expiry.root`, `expiry.targets`, `expiry.snapshot`,
 * `expiry.timestamp`, `expiry.delegated`), kept by the library in `.tufota/config.json`.
 *
 * `set` validates every assignment (known key, a duration from 1 second to about 100 years)
 * before saving any, and saves them in one atomic write. New periods apply at each role's next
 * signing; expiries already signed are unchanged (`tufota refresh --within` re-signs early).
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import type { ExpiryPolicy } from '../../repository/index.js';
import {
  type Command,
  formatDuration,
  type ParsedArgs,
  parseDuration,
  unknownSubcommand,
} from '../args.js';
import { type Io, printResult, warn } from '../io.js';
import { openRepository, openSession } from '../session.js';

const EXPIRY_KEYS = ['root', 'targets', 'snapshot', 'timestamp', 'delegated'] as const;

/** Parse `expiry.ROLE=DURATION` assignments; all are checked before anything is saved. */
export function parseAssignments(items: readonly string[]): Partial<ExpiryPolicy> {
  const periods: Partial<ExpiryPolicy> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const role = key.startsWith('expiry.') ? key.slice('expiry.'.length) : undefined;
    if (role === undefined || !(EXPIRY_KEYS as readonly string[]).includes(role)) {
      throw new UsageError(
        `unknown setting ${JSON.stringify(key)}; known: ${EXPIRY_KEYS.map((r) => `expiry.${r}`).join(', ')}`,
      );
    }
    if (eq < 0 || eq === item.length - 1)
      throw new UsageError(`${key} needs a value: ${key}=DURATION (e.g. ${key}=1d)`);
    periods[role as keyof ExpiryPolicy] = parseDuration(item.slice(eq + 1), key);
  }
  return periods;
}

function describe(policy: ExpiryPolicy): string {
  return EXPIRY_KEYS.map((r) => `expiry.${r.padEnd(10)} ${formatDuration(policy[r])}`).join('\n');
}

async function show(args: ParsedArgs, io: Io): Promise<number> {
  const repo = await openRepository(await openSession(args, io), args);
  const policy = repo.expiryPolicy();
  printResult(io, { expiry: policy }, () => describe(policy));
  return 0;
}

async function set(args: ParsedArgs, io: Io): Promise<number> {
  const items = args.positionals.slice(1);
  if (items.length === 0) throw new UsageError('usage: tufota config set expiry.ROLE=DURATION...');
  const periods = parseAssignments(items);
  const repo = await openRepository(await openSession(args, io), args);
  const policy = await repo.setExpiryPolicy(periods);
  // Not refused (a repository may have reasons), but worth a second look.
  if (policy.timestamp > policy.snapshot)
    warn(
      io,
      'expiry.timestamp is longer than expiry.snapshot: the snapshot it names may expire first',
    );
  printResult(io, { expiry: policy, changed: Object.keys(periods) }, () =>
    [
      describe(policy),
      'saved; the new periods apply when each role is next signed (tufota refresh --within re-signs early)',
    ].join('\n'),
  );
  return 0;
}

export const configCommand: Command = {
  name: 'config',
  summary: 'show or change the repository policy (expiry periods) after init',
  usage: 'tufota config show | config set expiry.ROLE=DURATION...',
  description: [
    'show  the validity period of each role (root, targets, snapshot, timestamp, delegated)',
    'set   change periods, e.g. expiry.timestamp=12h expiry.snapshot=7d; durations 1s to 36500d.',
    "      Every value is checked before any is saved; they apply at each role's next signing.",
  ].join('\n'),
  options: {},
  positionals: { min: 1, max: 1 + EXPIRY_KEYS.length },
  subcommands: ['show', 'set'],
  async run(args, io) {
    switch (args.positionals[0]) {
      case 'show':
        if (args.positionals.length > 1) throw new UsageError('config show takes no arguments');
        return show(args, io);
      case 'set':
        return set(args, io);
      default:
        throw unknownSubcommand('config', args.positionals[0], ['show', 'set']);
    }
  },
};
