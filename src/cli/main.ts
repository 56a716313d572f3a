#!/usr/bin/env node
/**
 * The `tufota` executable: `tufota COMMAND [options]` (see `tufota help` and
 * docs/admin-guide.md). All logic lives in `run.ts` and `commands/`.
 *
 * @module
 */
import { processIo } from './io.js';
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
