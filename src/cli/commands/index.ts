/**
 * The command table of the `tufota` CLI.
 *
 * @module
 */
import type { Command } from '../args.js';
import { addTargetCommand } from './add-target.js';
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
import { rotateCommand } from './rotate.js';
import { serveCommand } from './serve.js';
import { importCommand, prepareCommand, signCommand } from './sign.js';
import { statusCommand } from './status.js';
import { verifyCommand } from './verify.js';

/** Every command, in the order `tufota help` lists them. */
export const COMMANDS: readonly Command[] = [
  initCommand,
  keyCommand,
  addTargetCommand,
  removeTargetCommand,
  delegateCommand,
  binsCommand,
  rotateCommand,
  prepareCommand,
  signCommand,
  importCommand,
  statusCommand,
  publishCommand,
  refreshCommand,
  configCommand,
  verifyCommand,
  serveCommand,
  bundleCommand,
];

/** The help command, which lists the others. */
export const helpCommand: Command = makeHelpCommand(() => [...COMMANDS, helpCommand]);
