/**
 * The pieces every real-boot board shares: one bounded QEMU run (no network, killed at its
 * timeout), the gate that skips the tests outside CI when QEMU or the U-Boot build is missing
 * (and fails them in CI), and the shipped boot scripts, read from `boot-scripts/` exactly as the
 * integrator guide tells users to install them.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `CI=true`: a missing tool fails the real-boot tests instead of skipping them. */
export const IN_CI = process.env.CI === 'true';

/** The repository's root, `boot-scripts/` and `.ci/real-boot/`. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BOOT_SCRIPTS = fileURLToPath(new URL('../../../boot-scripts/', import.meta.url));
const SETUP = fileURLToPath(new URL('../../../.ci/real-boot/setup.sh', import.meta.url));

/** Longest a single power-on may take; TCG boots take 0.3-2 s even on a loaded machine. */
export const BOOT_TIMEOUT_MS = 60_000;
/** Serial output kept per boot (U-Boot prints a few KiB). */
const MAX_LOG_BYTES = 1024 * 1024;

/** What one QEMU run printed. */
export interface QemuRun {
  /** Serial console output, carriage returns removed. */
  log: string;
  /** Wall time in milliseconds (reported in the matrix, never asserted). */
  ms: number;
}

/**
 * Run QEMU once with stdin closed, no network device and `-no-reboot` (a reset ends the run),
 * and wait for it to exit. Killed (SIGKILL) and rejected at `timeoutMs`.
 */
export function runQemu(binary: string, args: readonly string[], timeoutMs = BOOT_TIMEOUT_MS) {
  return new Promise<QemuRun>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(binary, ['-nic', 'none', '-no-reboot', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const keep = (acc: string, chunk: Buffer) =>
      acc.length > MAX_LOG_BYTES ? acc : acc + chunk.toString('latin1');
    child.stdout.on('data', (c: Buffer) => {
      out = keep(out, c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err = keep(err, c);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${binary} did not exit within ${timeoutMs} ms; serial log:\n${out}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const log = out.replace(/\r/g, '');
      if (code !== 0) {
        reject(new Error(`${binary} exited ${code ?? signal}: ${err.slice(-2000)}\n${log}`));
      } else resolve({ log, ms: Date.now() - started });
    });
  });
}

/** Run a helper tool (mkenvimage, mkimage, mtools, …) and return its stdout; throws on failure. */
export function tool(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}`));
      else resolve(stdout);
    });
  });
}

async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    try {
      await fs.access(`${dir}/${name}`, fs.constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** Whether a board can run here: `reason` says what is missing. */
export interface Gate {
  ok: boolean;
  reason: string;
}

/** Check commands on PATH and files; `extra` adds a custom check (the U-Boot build). */
export async function gate(
  commands: readonly string[],
  files: readonly string[],
  extra?: () => Promise<string | undefined>,
): Promise<Gate> {
  const missing: string[] = [];
  for (const c of commands) if (!(await onPath(c))) missing.push(c);
  for (const f of files) {
    if (
      !(await fs.access(f).then(
        () => true,
        () => false,
      ))
    )
      missing.push(f);
  }
  const more = await extra?.();
  if (more) missing.push(more);
  return missing.length === 0
    ? { ok: true, reason: '' }
    : { ok: false, reason: `missing ${missing.join(', ')} (run .ci/real-boot/setup.sh)` };
}

/** The cached U-Boot build's folder (`setup.sh --locate`), or `undefined` if not built. */
export async function locateUboot(): Promise<string | undefined> {
  const fromEnv = process.env.TUFOTA_UBOOT_DIR;
  if (fromEnv) return fromEnv;
  return new Promise((resolve) => {
    execFile('bash', [SETUP, '--locate'], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim() || undefined);
    });
  });
}

/**
 * Parse a shipped environment file (`name=value` lines, `#` comments) in order. Duplicate names
 * are an error: mkenvimage would keep both and the bootloader and libubootenv might disagree.
 */
export function parseEnvText(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not a name=value line: ${line}`);
    const name = line.slice(0, eq);
    if (vars.has(name)) throw new Error(`${name} is set twice`);
    vars.set(name, line.slice(eq + 1));
  }
  return vars;
}

/** Read a file under `boot-scripts/`. */
export function bootScript(relative: string): Promise<string> {
  return fs.readFile(`${BOOT_SCRIPTS}${relative}`, 'utf8');
}
