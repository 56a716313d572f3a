/**
 * `tufota-agent COMMAND [options]`: argument parsing, dispatch, output and exit codes of the
 * device program. Results go to stdout (text, or one JSON document with `--json`); errors go to
 * stderr (`{"error":{code,message}}` with `--json`). Exit codes: {@link AgentExit}.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { LockHeldError, TufError, UsageError } from '../errors.js';
import {
  AgentExit,
  checkCommand,
  classifyInstallArg,
  commitCommand,
  installCommand,
  resumeCommand,
  resumeExit,
  rollbackCommand,
} from './commands.js';
import { type AgentConfig, DEFAULT_CONFIG_PATH, loadAgentConfig } from './config.js';
import { runDaemon } from './daemon.js';
import { fleetCheckCommand, fleetResumeCommand, runFleetDaemon } from './fleet-commands.js';
import { formatStatus, statusCommand } from './status.js';
import { openSource } from './wiring.js';

/** Streams a run writes to (tests and the bin pass the process's). */
export interface AgentIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const COMMANDS = [
  'status',
  'check',
  'install',
  'resume',
  'commit',
  'mark-good',
  'rollback',
  'mark-bad',
  'daemon',
  'help',
] as const;

export const AGENT_HELP = `usage: tufota-agent COMMAND [--config FILE] [--json]

The tufota device agent: installs signed updates into the inactive A/B slot and keeps the device
on a release that boots. Configured by one JSON file (default ${DEFAULT_CONFIG_PATH}).

commands:
  status [--json]          booted slot, next boot, each slot, installed release, journal phase,
                           anti-rollback floors, last check (--json: the stable machine interface)
  check [--json]           refresh metadata; say what would be installed and why (or why not);
                           in fleet mode: one Uptane cycle, installing what the director assigns
  install [TARGET|FILE|BUNDLE] [--target PATH] [--force]
                           install the configured release, a target path, a local image file
                           (verified against the signed metadata; --target names its entry) or an
                           offline bundle (.tar); reboots into it
  resume [BUNDLE]          the boot step: conclude or continue the update in flight (run after
                           every boot: tufota-agent-resume.service); BUNDLE: an offline device
                           checks against the bundle it installed from, not the server
  commit | mark-good       the booted slot is good (concludes the update running its trial)
  rollback | mark-bad      abandon the update in flight (reject the trial slot and reboot)
  daemon                   resume, then poll (interval + jitter, back-off on errors) and install
                           per updateControl; SIGTERM stops cleanly (a download resumes later)

fleet mode (a "fleet" section in the configuration): the agent is the Uptane primary of a
tufota fleet server; it registers, reads its director metadata, installs the director's
assignment and posts its signed manifest, phase reports and log tails (install is refused).

options:
  --config FILE            configuration file (default ${DEFAULT_CONFIG_PATH})
  --json                   print one JSON document on stdout

exit codes:
  0  success (check: whether or not an update is available)
  1  failure (network, storage, boot environment; the message says what to do)
  2  usage or configuration error (the message names the option or config field)
  3  another agent holds the state directory (ERR_TUF_LOCKED; the message names it)
  4  the update was refused, failed or rolled back, or the device fell back
`;

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function errorExit(error: unknown): number {
  if (error instanceof UsageError) return AgentExit.usage;
  if (error instanceof LockHeldError) return AgentExit.locked;
  if (
    error instanceof TufError &&
    (error.code.startsWith('ERR_TUF_POLICY') ||
      [
        'ERR_TUF_INCOMPATIBLE_TARGET',
        'ERR_TUF_DOWNGRADE',
        'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
      ].includes(error.code))
  ) {
    return AgentExit.updateFailed;
  }
  return AgentExit.failure;
}

/**
 * Run `fn` with a signal that SIGTERM and SIGINT abort: a transfer stops at once, its verified
 * prefix journaled (the next start resumes it), and the lock is released on the way out.
 */
async function withStopSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/**
 * Run one `tufota-agent` invocation.
 *
 * @returns the exit code.
 */
export async function runAgentCli(argv: readonly string[], io: AgentIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        target: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    json = values.json === true;
    const [command, ...rest] = positionals;
    if (command === undefined || command === 'help' || values.help) {
      write(io.stdout, AGENT_HELP);
      return command === undefined && !values.help ? AgentExit.usage : AgentExit.ok;
    }
    if (!(COMMANDS as readonly string[]).includes(command)) {
      throw new UsageError(`unknown command ${command} (one of: ${COMMANDS.join(', ')})`);
    }
    const maxArgs = command === 'install' || command === 'resume' ? 1 : 0;
    if (rest.length > maxArgs)
      throw new UsageError(`${command}: unexpected argument ${rest[maxArgs]}`);
    if (values.target !== undefined && command !== 'install') {
      throw new UsageError('--target is an option of install');
    }
    if (values.force !== undefined && command !== 'install') {
      throw new UsageError('--force is an option of install');
    }
    const config = await loadAgentConfig(values.config ?? DEFAULT_CONFIG_PATH);
    const print = (value: unknown, text: string) =>
      write(io.stdout, json ? JSON.stringify(value, null, 2) : text);
    return await dispatch(command, rest[0], values, config, io, print);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message ?? String(error);
    if (
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    ) {
      write(
        io.stderr,
        json
          ? JSON.stringify({ error: { code: 'ERR_TUF_USAGE', message } })
          : `tufota-agent: ${message}\nhint: tufota-agent help`,
      );
      return AgentExit.usage;
    }
    const tufCode = error instanceof TufError ? error.code : 'ERR_TUF';
    write(
      io.stderr,
      json ? JSON.stringify({ error: { code: tufCode, message } }) : `tufota-agent: ${message}`,
    );
    return errorExit(error);
  }
}

async function dispatch(
  command: string,
  arg: string | undefined,
  values: { target?: string; force?: boolean },
  config: AgentConfig,
  io: AgentIo,
  print: (value: unknown, text: string) => void,
): Promise<number> {
  switch (command) {
    case 'status': {
      const status = await statusCommand(config);
      print(status, formatStatus(status));
      return status.errors.length > 0 ? AgentExit.failure : AgentExit.ok;
    }
    case 'check': {
      const source = config.fleet !== undefined ? undefined : await openSource(config);
      try {
        const result =
          source === undefined
            ? await fleetCheckCommand(config)
            : await checkCommand(config, source);
        const text = [
          `${result.action === 'install' ? 'update available' : result.action === 'up-to-date' ? 'up to date' : result.action === 'refused' ? 'refused' : result.action === 'deferred' ? 'deferred' : 'nothing to install'}: ${result.reason}`,
          ...(result.installed
            ? [
                `installed: ${result.installed.path}${result.installed.version ? ` ${result.installed.version}` : ''}`,
              ]
            : []),
        ].join('\n');
        print(result, text);
        return result.error !== undefined && result.action === 'none'
          ? AgentExit.failure
          : AgentExit.ok;
      } finally {
        await source?.close();
      }
    }
    case 'install': {
      const source = await classifyInstallArg(arg);
      const result = await withStopSignal((signal) =>
        installCommand(config, source, {
          ...(values.target !== undefined ? { targetPath: values.target } : {}),
          ...(values.force ? { force: true } : {}),
          signal,
        }),
      );
      print(
        result,
        `${String(result.outcome)}${result.target ? `: ${String(result.target)}` : ''}${result.slot ? ` → slot ${String(result.slot)}` : ''}`,
      );
      return AgentExit.ok;
    }
    case 'resume': {
      if (config.fleet !== undefined && arg !== undefined) {
        throw new UsageError('resume BUNDLE: bundles are not used in fleet mode');
      }
      const result = await withStopSignal((signal) =>
        config.fleet !== undefined
          ? fleetResumeCommand(config)
          : resumeCommand(config, arg, signal),
      );
      print(
        {
          outcome: result.outcome,
          ...(result.journal
            ? { updateId: result.journal.updateId, target: result.journal.target.path }
            : {}),
          ...(result.error ? { error: result.error } : {}),
          ...(result.healthChecks ? { healthChecks: result.healthChecks } : {}),
          ...('manifest' in result ? { manifest: result.manifest } : {}),
        },
        `${result.outcome}${result.journal ? `: ${result.journal.target.path}` : ''}${result.error ? ` (${result.error.message})` : ''}`,
      );
      return resumeExit(result);
    }
    case 'commit':
    case 'mark-good': {
      const result = await commitCommand(config);
      print(result, `${String(result.outcome)}: slot ${String(result.slot)}`);
      return result.outcome === 'rolledBack' || result.outcome === 'failed'
        ? AgentExit.updateFailed
        : AgentExit.ok;
    }
    case 'rollback':
    case 'mark-bad': {
      const result = await rollbackCommand(config);
      print(result, String(result.outcome));
      return AgentExit.ok;
    }
    default: {
      // daemon
      const log = (event: string, fields: Record<string, unknown> = {}) =>
        write(io.stdout, JSON.stringify({ at: new Date().toISOString(), event, ...fields }));
      return withStopSignal((signal) =>
        config.fleet !== undefined
          ? runFleetDaemon(config, log, signal)
          : runDaemon(config, log, signal),
      );
    }
  }
}
