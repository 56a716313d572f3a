/**
 * The repository lock around every `tufota` command that changes a repository: the lock
 * (`.tufota/lock`, see `storage/repository-lock.ts`) is taken before the repository is read and
 * released when the command ends — on success, on error, and on SIGINT/SIGTERM/SIGHUP (released,
 * then the signal's default action) — so two commands never edit from the same state and publish
 * over each other.
 *
 * A second command fails at once with `ERR_TUF_REPOSITORY_LOCKED` naming the holder, or waits
 * up to `--wait SECONDS` (an option every locking command gets) for the holder to finish.
 *
 * Adapter (process signals). Not safe for concurrent use within one process.
 *
 * @module
 */
import { RepositoryLock } from '../storage/repository-lock.js';
import { type Command, type ParsedArgs, parseInteger, stringOption } from './args.js';
import type { Io } from './io.js';
import { repoDirOf } from './session.js';

/** Longest `--wait`, in seconds (one day). */
const MAX_WAIT_SECONDS = 86_400;

/** How a command takes the lock. */
export interface LockingOptions {
  /** Whether this invocation changes the repository (default: always). */
  mutates?: (args: ParsedArgs) => boolean;
  /** The repository directory (default: `--repo`, `$TUFOTA_REPO`, the current directory). */
  dirOf?: (args: ParsedArgs, io: Io) => string;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `command`, taking the repository lock around each run that changes the repository, with a
 * `--wait SECONDS` option.
 */
export function withRepositoryLock(command: Command, options: LockingOptions = {}): Command {
  return {
    ...command,
    options: {
      ...command.options,
      wait: {
        type: 'string',
        valueName: 'SECONDS',
        description:
          'when another tufota command holds the repository lock, wait up to SECONDS for it (default 0: fail at once)',
      },
    },
    async run(args, io) {
      if (options.mutates !== undefined && !options.mutates(args)) return command.run(args, io);
      const raw = stringOption(args, 'wait');
      const waitSeconds = raw === undefined ? 0 : parseInteger(raw, '--wait', 0, MAX_WAIT_SECONDS);
      const dir = options.dirOf?.(args, io) ?? repoDirOf(args, io);
      const lock = await RepositoryLock.acquire(dir, {
        command: `tufota ${command.name}${subcommand(args)}`,
        waitMs: waitSeconds * 1000,
      });
      const onSignal = (signal: NodeJS.Signals) => {
        lock.releaseSync();
        removeHandlers();
        process.kill(process.pid, signal);
      };
      const onExit = () => lock.releaseSync();
      const removeHandlers = () => {
        for (const signal of SIGNALS) process.off(signal, onSignal);
        process.off('exit', onExit);
      };
      for (const signal of SIGNALS) process.on(signal, onSignal);
      process.on('exit', onExit);
      try {
        return await command.run(args, io);
      } finally {
        removeHandlers();
        await lock.release();
      }
    },
  };
}

/** ` generate` for `key generate …`: the first positional when it names a subcommand. */
function subcommand(args: ParsedArgs): string {
  const first = args.positionals[0];
  return first !== undefined && /^[a-z-]{1,20}$/.test(first) ? ` ${first}` : '';
}

/** `mutates` for commands with read-only subcommands: true unless the subcommand is listed. */
export function unlessSubcommand(...readOnly: string[]): (args: ParsedArgs) => boolean {
  return (args) => !readOnly.includes(args.positionals[0] ?? '');
}
