/**
 * `tufota help [COMMAND]`.
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import { type Command, commandHelp } from '../args.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { didYouMean } from '../suggest.js';

/** The overview printed by `tufota help` and `tufota --help`. */
export function overview(commands: readonly Command[]): string {
  return [
    'usage: tufota COMMAND [options]',
    '',
    'Create, sign, publish, verify and serve a TUF repository for over-the-air updates.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`),
    '',
    'Run tufota help COMMAND (or tufota COMMAND --help) for its options.',
    'Key passwords come from $TUFOTA_KEY_PASSWORD (or --password-env NAME) or a terminal prompt,',
    'never from the command line. TUFOTA_REPO sets the default repository directory;',
    'TUFOTA_DEBUG=1 prints stack traces. docs/admin-guide.md walks through every workflow.',
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

/** Build the help command over the command table. */
export function makeHelpCommand(commands: () => readonly Command[]): Command {
  return {
    name: 'help',
    summary: 'show help for all commands or one',
    usage: 'tufota help [COMMAND]',
    description: '',
    options: {},
    positionals: { min: 0, max: 1 },
    async run(args, io) {
      const name = args.positionals[0];
      if (name === undefined) {
        io.stdout.write(`${overview(commands())}\n`);
        return 0;
      }
      const all = commands();
      const command = all.find((c) => c.name === name);
      if (command === undefined)
        throw new UsageError(
          `unknown command ${JSON.stringify(name)}${didYouMean(
            name,
            all.map((c) => c.name),
          )}`,
          { hint: 'run tufota help for the list of commands' },
        );
      io.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    },
  };
}
