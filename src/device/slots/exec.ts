/**
 * Run a bootloader tool (`fw_printenv`, `fw_setenv`, `mkenvimage`, `grub-editenv`) safely:
 * `execFile` (never a shell, so no quoting or injection issues), a timeout, a cap on captured
 * output, optional stdin, and every failure mapped to a {@link SlotError} that names the command,
 * its exit status and the tail of its stderr.
 *
 * It does not interpret the tools' output: a zero exit says nothing about whether `fw_setenv`
 * applied anything (it silently skips malformed script lines), which is why controllers read the
 * environment back after each write.
 *
 * Safe for concurrent use (each call spawns its own process).
 *
 * @module
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { SlotError } from '../../errors.js';
import { SlotErrorCode } from '../slot-controller.js';

/** Default time a tool may run before it is killed. */
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
/** Default cap on stdout and on stderr, each. Environments are at most a few hundred KiB. */
export const DEFAULT_TOOL_MAX_OUTPUT = 1024 * 1024;
/** How much of stderr an error message quotes. */
const STDERR_TAIL = 600;

/** Debian packages that ship each tool, for "install it" hints. */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  fw_printenv: 'u-boot-tools',
  fw_setenv: 'u-boot-tools',
  mkenvimage: 'u-boot-tools',
  'grub-editenv': 'grub-common',
};

/** Options of one tool run. */
export interface RunToolOptions {
  /** Kill the tool after this many milliseconds (default {@link DEFAULT_TOOL_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Cap on stdout and stderr, each, in bytes (default {@link DEFAULT_TOOL_MAX_OUTPUT}). */
  maxOutputBytes?: number;
  /** Bytes written to the tool's stdin, which is then closed. */
  input?: string;
}

/** What a successful (exit 0) run printed. */
export interface ToolResult {
  stdout: string;
  stderr: string;
}

/**
 * The signature controllers use to run tools; inject another (a recorder, a fake) in tests.
 * Must throw {@link SlotError} on failure.
 */
export type ToolRunner = (
  file: string,
  args: readonly string[],
  options?: RunToolOptions,
) => Promise<ToolResult>;

/** Render a command for messages: `fw_setenv -c /etc/fw_env.config -s -`. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= STDERR_TAIL ? trimmed : `…${trimmed.slice(-STDERR_TAIL)}`;
}

/**
 * Run `file` with `args` and resolve with its output if it exits 0.
 *
 * @throws SlotError `ERR_TUF_SLOT_TOOL_MISSING` (not installed: the message names the Debian
 *   package), `ERR_TUF_SLOT_TOOL_TIMEOUT`, or `ERR_TUF_SLOT_TOOL_FAILED` (non-zero exit, signal,
 *   output over the cap). The error's message quotes the command and stderr's tail; the
 *   exit status is in the message and in `cause`.
 *
 * @example
 * ```ts
 * const { stdout } = await runTool('fw_printenv', ['-c', '/etc/fw_env.config', 'boot_part']);
 * ```
 */
export const runTool: ToolRunner = (file, args, options = {}) => {
  const timeout = options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const maxBuffer = options.maxOutputBytes ?? DEFAULT_TOOL_MAX_OUTPUT;
  const command = formatCommand(file, args);
  return new Promise<ToolResult>((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      { timeout, maxBuffer, encoding: 'utf8', windowsHide: true, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const err = error as NodeJS.ErrnoException & {
          code?: string | number;
          killed?: boolean;
          signal?: NodeJS.Signals | null;
        };
        if (
          err.code === 'ENOENT' &&
          typeof err.code === 'string' &&
          err.syscall?.startsWith('spawn')
        ) {
          const pkg = DEBIAN_PACKAGES[path.basename(file)];
          const hint = pkg ? ` (install the Debian package "${pkg}": apt-get install ${pkg})` : '';
          reject(
            new SlotError(
              `${file} not found: is it installed and on PATH?${hint}`,
              { cause: error },
              SlotErrorCode.ToolMissing,
            ),
          );
          return;
        }
        if (
          err.killed &&
          err.signal === 'SIGKILL' &&
          err.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
        ) {
          reject(
            new SlotError(
              `${command} did not finish within ${timeout} ms and was killed`,
              { cause: error },
              SlotErrorCode.ToolTimeout,
            ),
          );
          return;
        }
        if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          reject(
            new SlotError(
              `${command} printed more than ${maxBuffer} bytes; output refused`,
              { cause: error },
              SlotErrorCode.ToolFailed,
            ),
          );
          return;
        }
        const status =
          typeof err.code === 'number'
            ? `exited with status ${err.code}`
            : `failed (${err.signal ?? err.code ?? err.message})`;
        const detail = tail(stderr) || tail(stdout) || '(no output)';
        reject(
          new SlotError(
            `${command} ${status}: ${detail}`,
            { cause: error },
            SlotErrorCode.ToolFailed,
          ),
        );
      },
    );
    // A tool that exits before reading stdin makes the write fail with EPIPE; the exit status
    // reported above is the meaningful error, so stdin errors are ignored.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
};

/** Exit status of a failed tool run, if the failure was a non-zero exit. */
export function exitStatusOf(error: unknown): number | undefined {
  const cause =
    error instanceof SlotError ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'number' ? cause.code : undefined;
}
