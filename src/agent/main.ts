#!/usr/bin/env node
/**
 * The `tufota-agent` executable: `tufota-agent COMMAND [options]` (see `tufota-agent help` and
 * docs/integrator-guide.md). All logic lives in `run.ts` and the modules it calls.
 *
 * @module
 */
import { runAgentCli } from './run.js';

process.exitCode = await runAgentCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
