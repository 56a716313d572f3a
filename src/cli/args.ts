/**
 * Command definitions and argument parsing for the `tufota` CLI, on `node:util` `parseArgs`
 * (strict: unknown options and missing values are usage errors, exit code 2).
 *
 * Each command declares its options once ({@link OptionSpec}); parsing, `--help` text and
 * validation of values (`ROLE=N` pairs, durations, integers) all derive from that declaration.
 *
 * Pure apart from reading `process.env` defaults in the caller. Safe for concurrent use.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { Io } from './io.js';
import { closestMatch } from './suggest.js';

/** One option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in help: `--threshold ROLE=N`. */
  valueName?: string;
  description: string;
}

/** Parsed command line of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** A `tufota` subcommand. */
export interface Command {
  name: string;
  /** One line for `tufota help`. */
  summary: string;
  /** `tufota add-target FILE [options]`. */
  usage: string;
  /** Paragraphs shown by `tufota help CMD`. */
  description: string;
  options: Record<string, OptionSpec>;
  /** Allowed number of positional arguments (a subcommand counts as one). */
  positionals: { min: number; max: number };
  /** The subcommands the first positional names (`key generate`), checked before the count. */
  subcommands?: readonly string[];
  /** Runs the command; resolves to the process exit code. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  repo: {
    type: 'string',
    short: 'r',
    valueName: 'DIR',
    description: 'repository directory (default: $TUFOTA_REPO, else the current directory)',
  },
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show help for this command' },
};

/** Options of commands that sign (added to their own options). */
export const SIGNING_OPTIONS: Record<string, OptionSpec> = {
  key: {
    type: 'string',
    multiple: true,
    valueName: 'FILE',
    description: 'private key file to sign with (repeatable); keys in the keyring are used too',
  },
  'password-env': {
    type: 'string',
    valueName: 'NAME',
    description: 'environment variable holding key passwords (default TUFOTA_KEY_PASSWORD)',
  },
  'signer-command': {
    type: 'string',
    valueName: 'PROGRAM',
    description:
      'external signer (HSM/KMS tool): reads the bytes on stdin, prints a hex signature; needs --signer-keyid',
  },
  'signer-arg': {
    type: 'string',
    multiple: true,
    valueName: 'ARG',
    description: 'argument of --signer-command (repeatable; no shell is involved)',
  },
  'signer-keyid': {
    type: 'string',
    valueName: 'KEYID',
    description: 'key id the external signer signs for (its public key is read from the metadata)',
  },
  'no-keyring': {
    type: 'boolean',
    description: 'do not load keys from the repository keyring (.tufota/cli.json)',
  },
};

/**
 * Parse `argv` for `command`.
 *
 * @throws UsageError for unknown options, missing values or a wrong number of arguments.
 */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> =
    {};
  for (const [name, spec] of Object.entries(options)) {
    config[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple === true ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (error) {
    throw optionError(command, options, argv, error);
  }
  const values = parsed.values as ParsedArgs['values'];
  if (values.help === true) return { values, positionals: parsed.positionals };
  if (command.subcommands !== undefined) {
    const given = parsed.positionals[0];
    if (given === undefined || !command.subcommands.includes(given)) {
      throw unknownSubcommand(command.name, given, command.subcommands);
    }
  }
  const count = parsed.positionals.length;
  if (count < command.positionals.min || count > command.positionals.max) {
    throw new UsageError(
      `${command.name} takes ${describeCount(command.positionals)}, got ${count} (usage: ${command.usage})`,
      { hint: `see tufota ${command.name} --help` },
    );
  }
  return { values, positionals: parsed.positionals };
}

/**
 * A usage error in the CLI's words for what `parseArgs` refused: `unknown option --foo for
 * 'tufota add-target'; did you mean --force? see tufota add-target --help`.
 */
function optionError(
  command: Command,
  options: Record<string, OptionSpec>,
  argv: string[],
  error: unknown,
): UsageError {
  const where = `'tufota ${command.name}'`;
  const help = `see tufota ${command.name} --help`;
  const message = (error as Error).message;
  const code = (error as { code?: unknown }).code;
  const option = /^(?:Unknown option|Option) '(?:-\w, )?(--?[^' ]+)/.exec(message)?.[1];
  if (option === undefined) return new UsageError(`${message} (${help})`, { cause: error });
  const spec = option.startsWith('--') ? options[option.slice(2)] : undefined;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const names = Object.keys(options).map((name) => `--${name}`);
    const guess = option.startsWith('--') ? closestMatch(option, names) : undefined;
    return new UsageError(
      `unknown option ${option} for ${where}${guess === undefined ? '' : `; did you mean ${guess}?`}`,
      { cause: error, hint: `${help} for its options` },
    );
  }
  if (/does not take an argument/.test(message)) {
    return new UsageError(`option ${option} of ${where} takes no value`, {
      cause: error,
      hint: help,
    });
  }
  const valueName = spec?.valueName ?? 'VALUE';
  if (/ambiguous/.test(message)) {
    const next = argv[argv.indexOf(option) + 1] ?? '';
    return new UsageError(
      `option ${option} of ${where} needs a value, but ${JSON.stringify(next)} follows it`,
      {
        cause: error,
        hint: `give the value: ${option} ${valueName} (write ${option}=${next} if the value really starts with -)`,
      },
    );
  }
  return new UsageError(`option ${option} of ${where} needs a value: ${option} ${valueName}`, {
    cause: error,
    hint: help,
  });
}

/**
 * The usage error for an unknown subcommand (`tufota key gen`), with a "did you mean".
 *
 * @example
 * ```ts
 * throw unknownSubcommand('key', 'gen', ['generate', 'list', 'show', 'add']);
 * ```
 */
export function unknownSubcommand(
  command: string,
  given: string | undefined,
  choices: readonly string[],
): UsageError {
  const list = `${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices.at(-1)}`;
  if (given === undefined) {
    return new UsageError(`tufota ${command} needs a subcommand: ${list}`, {
      hint: `see tufota ${command} --help`,
    });
  }
  const guess = closestMatch(given, choices);
  return new UsageError(
    `unknown subcommand ${JSON.stringify(given)} for 'tufota ${command}'${guess === undefined ? `; use ${list}` : `; did you mean ${command} ${guess}?`}`,
    { hint: `see tufota ${command} --help` },
  );
}

function describeCount({ min, max }: { min: number; max: number }): string {
  if (min === max) return min === 0 ? 'no arguments' : `${min} argument${min === 1 ? '' : 's'}`;
  if (max === Number.POSITIVE_INFINITY) return `at least ${min} argument${min === 1 ? '' : 's'}`;
  if (min === 0) return `at most ${max} argument${max === 1 ? '' : 's'}`;
  return `${min} to ${max} arguments`;
}

/** `tufota help CMD` text. */
export function commandHelp(command: Command): string {
  const lines = [`usage: ${command.usage}`, '', command.summary, ''];
  if (command.description !== '') lines.push(command.description, '');
  const render = (title: string, options: Record<string, OptionSpec>) => {
    const entries = Object.entries(options);
    if (entries.length === 0) return;
    lines.push(`${title}:`);
    for (const [name, spec] of entries) {
      const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.valueName === undefined ? '' : ` ${spec.valueName}`}`;
      lines.push(`  ${flag.padEnd(34)} ${spec.description}`);
    }
    lines.push('');
  };
  render('options', command.options);
  render('global options', GLOBAL_OPTIONS);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Value helpers

/** A string option, or `undefined`. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string option (empty when absent). */
export function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** A boolean option. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/**
 * An integer option within `[min, max]`.
 *
 * @throws UsageError when it is not such an integer.
 */
export function integerOption(
  args: ParsedArgs,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = stringOption(args, name);
  return raw === undefined ? undefined : parseInteger(raw, `--${name}`, min, max);
}

/** Parse a decimal integer in `[min, max]`. */
export function parseInteger(raw: string, what: string, min: number, max: number): number {
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(
      `${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

/**
 * Parse repeated `KEY=VALUE` options into a map (later ones win).
 *
 * @throws UsageError when a value has no `=`.
 */
export function pairsOption(args: ParsedArgs, name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of listOption(args, name)) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      throw new UsageError(`--${name} wants KEY=VALUE, got ${JSON.stringify(item)}`);
    }
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Parse a duration such as `90d`, `12h`, `30m`, `45s`, `2w` (or plain milliseconds) to milliseconds.
 *
 * @throws UsageError for anything else.
 */
export function parseDuration(raw: string | number, what: string): number {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) return raw;
  const m = typeof raw === 'string' ? /^(\d{1,12})(ms|s|m|h|d|w)?$/.exec(raw.trim()) : null;
  if (m === null) {
    throw new UsageError(
      `${what} must be a duration such as 90d, 12h, 30m or 45s, got ${JSON.stringify(raw)}`,
    );
  }
  const amount = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const ms = unit === 'ms' ? amount : amount * (UNITS[unit] as number);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new UsageError(`${what} is out of range`);
  return ms;
}

/** Format milliseconds as the largest whole unit (`90d`, `36h`, `1500ms`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Parse an ISO 8601 time (`2030-01-01T00:00:00Z`).
 *
 * @throws UsageError when it is not one.
 */
export function parseTime(raw: string, what: string): Date {
  const time = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(time.getTime())) {
    throw new UsageError(
      `${what} must be an ISO 8601 time such as 2030-01-01T00:00:00Z, got ${JSON.stringify(raw)}`,
    );
  }
  return time;
}
