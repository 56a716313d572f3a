/**
 * The command table of the `tufota` CLI.
 *
 * @module
 */
import { type Command, flag } from '../args.js';
import { unlessSubcommand, withRepositoryLock } from '../lock.js';
import { repoDirOf } from '../session.js';
import { addTargetCommand } from './add-target.js';
import { auditCommand } from './audit.js';
import { binsCommand } from './bins.js';
import { bundleCommand } from './bundle.js';
import { configCommand } from './config.js';
import { delegateCommand } from './delegate.js';
import { makeHelpCommand } from './help.js';
import { initCommand } from './init.js';
import { keyCommand } from './key.js';
import { publishCommand } from './publish.js';
import { refreshCommand } from './refresh.js';
import { removeTargetCommand } from './remove-target.js';
import { resetCommand } from './reset.js';
import { rotateCommand } from './rotate.js';
import { serveCommand } from './serve.js';
import { serverCommand } from './server.js';
import { importCommand, prepareCommand, signCommand } from './sign.js';
import { statusCommand } from './status.js';
import { verifyCommand } from './verify.js';

/**
 * Every command, in the order `tufota help` lists them. Those that change a repository hold its
 * lock while they run (`lock.ts`): read-only ones (`status`, `verify`, `serve`, `bundle`,
 * `key list|show`, `config show`, `sign FILE` on a carried file) do not.
 */
export const COMMANDS: readonly Command[] = [
  withRepositoryLock(initCommand, {
    dirOf: (args, io) => repoDirOf(args, io, args.positionals[0]),
  }),
  withRepositoryLock(keyCommand, {
    mutates: (args) =>
      unlessSubcommand('list', 'show')(args) &&
      (args.positionals[0] !== 'generate' || flag(args, 'add')),
  }),
  withRepositoryLock(addTargetCommand),
  withRepositoryLock(removeTargetCommand),
  withRepositoryLock(delegateCommand),
  withRepositoryLock(binsCommand),
  withRepositoryLock(rotateCommand),
  withRepositoryLock(prepareCommand),
  withRepositoryLock(signCommand, { mutates: (args) => args.positionals.length === 0 }),
  withRepositoryLock(importCommand),
  withRepositoryLock(resetCommand),
  statusCommand,
  withRepositoryLock(publishCommand),
  withRepositoryLock(refreshCommand),
  withRepositoryLock(configCommand, { mutates: unlessSubcommand('show') }),
  verifyCommand,
  serveCommand,
  bundleCommand,
  serverCommand,
  auditCommand,
];

/** The help command, which lists the others. */
export const helpCommand: Command = makeHelpCommand(() => [...COMMANDS, helpCommand]);
