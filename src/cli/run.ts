/**
 * Run one `tufota` invocation: pick the command, parse its arguments, run it, and turn errors
 * into a one-line message, a hint and an exit code (see `exit-codes.ts`). Stack traces only with
 * `TUFOTA_DEBUG=1`. Separate from `main.ts` so tests can run the CLI in-process too.
 *
 * Not safe for concurrent use (commands read the process's terminal).
 *
 * @module
 */
import { TufError, UsageError } from '../errors.js';
import { type Command, commandHelp, parseCommandArgs } from './args.js';
import { overview } from './commands/help.js';
import { COMMANDS, helpCommand } from './commands/index.js';
import { ExitCode, exitCodeFor, type HintContext, hintFor } from './exit-codes.js';
import type { Io } from './io.js';
import { didYouMean } from './suggest.js';

/**
 * Run the CLI with `argv` (without `node` and the script) and return the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), processIo());
 * ```
 */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  io.json = argv.includes('--json');
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      io.stdout.write(`${overview([...COMMANDS, helpCommand])}\n`);
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (name === '--version' || name === 'version') {
      io.stdout.write('tufota 0.1.0\n');
      return ExitCode.ok;
    }
    const command = findCommand(name);
    const args = parseCommandArgs(command, rest);
    if (args.values.help === true) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return ExitCode.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    reportError(io, error, {
      ...(name === undefined || name.startsWith('-') ? {} : { command: name }),
      publish: rest.includes('--publish'),
    });
    return exitCodeFor(error);
  }
}

/**
 * The command called `name`.
 *
 * @throws UsageError naming the closest command (`tufota pubish` → did you mean publish?), or
 *   saying that options go after the command (`tufota --repo DIR status`).
 */
export function findCommand(name: string): Command {
  const all = [...COMMANDS, helpCommand];
  const command = all.find((c) => c.name === name);
  if (command !== undefined) return command;
  if (name.startsWith('-')) {
    return throwUsage(`unknown option ${name} before the command`, {
      hint: `options go after the command: tufota COMMAND ${name} …; run tufota help for the commands`,
    });
  }
  return throwUsage(
    `unknown command ${JSON.stringify(name)}${didYouMean(
      name,
      all.map((c) => c.name),
    )}`,
    { hint: 'run tufota help for the list of commands' },
  );
}

function throwUsage(message: string, options: { hint: string }): never {
  throw new UsageError(message, options);
}

function reportError(io: Io, error: unknown, context: HintContext): void {
  const debug = io.env.TUFOTA_DEBUG === '1';
  const known = error instanceof TufError;
  const message = error instanceof Error ? error.message : String(error);
  const hint = hintFor(error, context);
  if (io.json) {
    io.stderr.write(
      `${JSON.stringify({ error: { code: known ? error.code : 'ERR_UNEXPECTED', name: error instanceof Error ? error.name : 'Error', message, ...(hint === undefined ? {} : { hint }) } })}\n`,
    );
  } else {
    io.stderr.write(`error: ${message}\n`);
    if (hint !== undefined) io.stderr.write(`hint: ${hint}\n`);
    if (!known && !debug)
      io.stderr.write(
        'hint: this looks like a bug in tufota; rerun with TUFOTA_DEBUG=1 and report the trace\n',
      );
  }
  if (debug && error instanceof Error && error.stack !== undefined)
    io.stderr.write(`${error.stack}\n`);
}
