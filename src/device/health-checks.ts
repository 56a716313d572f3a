/**
 * Health checks: what must work in a booted slot before the agent calls `confirmBooted()`.
 *
 * Two kinds of boot run checks (the agent decides which is which):
 * - the **trial boot**, the first boot of a newly activated slot: EVERY check runs and any
 *   failure or timeout rejects the slot (the bootloader falls back to the previous release);
 * - a **normal boot** of the already-committed slot, on controllers whose bootloader counts
 *   attempts at every boot (`confirmEveryBoot`: RAUC-style U-Boot and GRUB): only the checks
 *   with {@link HealthCheck.when} `'always'` (the default) run, and a failure leaves the slot
 *   unconfirmed so the bootloader's attempt counting decides — it never rejects a committed
 *   release outright.
 *
 * Implements the {@link HealthCheck} interface, {@link runHealthChecks} (all checks in parallel,
 * each with its own timeout enforced by the runner even if the check ignores its
 * `AbortSignal`), {@link healthChecksFor} (the checks of one kind of boot), and built-ins:
 * - {@link commandCheck}: a program exits 0 (`execFile`, never a shell; output capped);
 * - {@link systemdUnitCheck}: `systemctl is-active --quiet UNIT`;
 * - {@link httpProbe}: an HTTP endpoint answers with the expected status (undici);
 * - {@link updateServerCheck}: the update server is reachable and this device can still
 *   authenticate its metadata — a full `refresh()` of the TUF client. The agent ALWAYS adds it
 *   to the trial boot: an image that cannot receive the next update must not be committed,
 *   whatever else works. It is trial-only (`when: 'trial'`): once a release is committed, a boot
 *   without network is not a reason to go back to the previous one (the agent reports it as a
 *   warning instead).
 *
 * Safe for concurrent use: checks hold no state between runs (a custom check may).
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { HealthCheckError, InvalidStateError } from '../errors.js';

/** Default time one check may take. */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 30_000;

/**
 * When a check decides (see {@link HealthCheck.when}): on the `'trial'` boot of a new slot only,
 * or `'always'`: on the trial boot and on every normal boot that needs confirming.
 */
export type HealthCheckWhen = 'trial' | 'always';

/** The kind of boot checks run for: the first boot of a newly activated slot, or any later one. */
export type BootKind = 'trial' | 'normal';

/**
 * One health check. `run` resolves when healthy and rejects otherwise; it should stop work when
 * `signal` aborts (the runner stops waiting for it at the timeout either way).
 *
 * @example
 * ```ts
 * const appAnswers: HealthCheck = {
 *   name: 'app socket',
 *   timeoutMs: 5_000,
 *   run: async (signal) => { await pingApp({ signal }); },
 * };
 * ```
 */
export interface HealthCheck {
  /** Short name for logs and reports. */
  name: string;
  /** Milliseconds before the check counts as failed (default: the runner's default). */
  timeoutMs?: number;
  /**
   * Which boots the check decides (default `'always'`):
   * - `'always'`: the trial boot of a new slot (failure: the slot is rejected) AND every normal
   *   boot of the committed slot on controllers with `confirmEveryBoot` (failure: the slot is
   *   left unconfirmed and the bootloader's attempt counting decides — with GRUB's single try
   *   the next boot falls back). Use it for local conditions whose failure means the image is
   *   unusable: the application starts, the data partition mounts.
   * - `'trial'`: the trial boot only. Use it for what must be proven once before a release is
   *   committed but may fail later without the image being at fault: the network and remote
   *   services (the agent's own update-server check is trial-only), a one-time data migration.
   */
  when?: HealthCheckWhen;
  run(signal: AbortSignal): Promise<void>;
}

/** Outcome of one check. */
export interface HealthCheckResult {
  name: string;
  ok: boolean;
  /** Why it failed (`ERR_TUF_HEALTH_CHECK` for timeouts and built-in failures). */
  error?: { code: string; message: string };
}

/** The name under which {@link updateServerCheck} reports by default. */
export const UPDATE_SERVER_CHECK_NAME = 'update server (TUF refresh)';

/**
 * Validate checks given by an integrator (names, `run`, `when`), so a typo such as
 * `when: 'trail'` fails at startup instead of silently changing which boots a check decides.
 *
 * @throws InvalidStateError naming the first bad check.
 */
export function assertHealthChecks(checks: readonly HealthCheck[]): void {
  if (!Array.isArray(checks)) throw new InvalidStateError('healthChecks must be an array');
  checks.forEach((check, i) => {
    const where = `healthChecks[${i}]`;
    if (typeof check !== 'object' || check === null) {
      throw new InvalidStateError(`${where} is not a health check object`);
    }
    if (typeof check.name !== 'string' || check.name === '') {
      throw new InvalidStateError(`${where}.name must be a non-empty string`);
    }
    if (typeof check.run !== 'function') {
      throw new InvalidStateError(`health check ${check.name}: run must be a function`);
    }
    if (check.when !== undefined && check.when !== 'trial' && check.when !== 'always') {
      throw new InvalidStateError(
        `health check ${check.name}: when must be 'trial' or 'always', got ${JSON.stringify(check.when)}`,
      );
    }
    if (
      check.timeoutMs !== undefined &&
      (!Number.isSafeInteger(check.timeoutMs) || check.timeoutMs < 1)
    ) {
      throw new InvalidStateError(
        `health check ${check.name}: timeoutMs must be a positive integer`,
      );
    }
  });
}

/**
 * The checks that decide a boot of the given kind: every check on a `'trial'` boot, only the
 * `'always'` ones (the default) on a `'normal'` boot.
 *
 * @example
 * ```ts
 * const local = healthChecksFor(checks, 'normal'); // what confirms an ordinary boot
 * ```
 */
export function healthChecksFor(checks: readonly HealthCheck[], boot: BootKind): HealthCheck[] {
  return boot === 'trial' ? [...checks] : checks.filter((c) => (c.when ?? 'always') === 'always');
}

/** A failed check as published and reported: `{name, code, message}`. */
export interface HealthCheckFailure {
  name: string;
  code: string;
  message: string;
}

/** The failed results only, flattened for events and logs. */
export function healthCheckFailures(results: readonly HealthCheckResult[]): HealthCheckFailure[] {
  return results
    .filter((r) => !r.ok)
    .map((r) => ({
      name: r.name,
      code: r.error?.code ?? 'ERR_TUF_HEALTH_CHECK',
      message: r.error?.message ?? r.name,
    }));
}

/**
 * Run every check in parallel; each is failed at its timeout.
 *
 * @returns one result per check, in the given order.
 */
export async function runHealthChecks(
  checks: readonly HealthCheck[],
  options: { defaultTimeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HealthCheckResult[]> {
  const fallback = options.defaultTimeoutMs ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS;
  return Promise.all(checks.map((check) => runOne(check, fallback, options.signal)));
}

async function runOne(
  check: HealthCheck,
  fallbackMs: number,
  outer: AbortSignal | undefined,
): Promise<HealthCheckResult> {
  const timeoutMs = check.timeoutMs ?? fallbackMs;
  const controller = new AbortController();
  const onOuter = (): void => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new HealthCheckError(
        `health check ${check.name} did not finish within ${timeoutMs} ms`,
        { check: check.name },
      );
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    if (outer?.aborted) throw outer.reason;
    await Promise.race([Promise.resolve().then(() => check.run(controller.signal)), timedOut]);
    return { name: check.name, ok: true };
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    return {
      name: check.name,
      ok: false,
      error: {
        code: typeof e?.code === 'string' ? e.code : 'ERR_TUF_HEALTH_CHECK',
        message: `${check.name}: ${typeof e?.message === 'string' ? e.message : String(error)}`,
      },
    };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    timedOut.catch(() => {});
  }
}

/** Options of {@link commandCheck}. */
export interface CommandCheckOptions {
  /** Name in reports (default: the command line). */
  name?: string;
  timeoutMs?: number;
  /** Largest stdout/stderr kept (default 64 KiB; more fails the check). */
  maxOutputBytes?: number;
}

/**
 * Healthy when `cmd args…` exits 0. Runs without a shell (`execFile`): arguments are never
 * interpreted.
 *
 * @example
 * ```ts
 * commandCheck('/usr/bin/myapp', ['--self-test'], { timeoutMs: 10_000 });
 * ```
 */
export function commandCheck(
  cmd: string,
  args: readonly string[] = [],
  options: CommandCheckOptions = {},
): HealthCheck {
  if (typeof cmd !== 'string' || cmd === '')
    throw new InvalidStateError('commandCheck needs a command');
  const name = options.name ?? [cmd, ...args].join(' ');
  const maxBuffer = options.maxOutputBytes ?? 64 * 1024;
  return {
    name,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    run: (signal) =>
      new Promise<void>((resolve, reject) => {
        execFile(
          cmd,
          [...args],
          { signal, maxBuffer, windowsHide: true },
          (error, _out, stderr) => {
            if (error === null) return resolve();
            const tail = String(stderr).trim().split('\n').slice(-3).join(' | ');
            const exit = (error as { code?: unknown }).code;
            reject(
              new HealthCheckError(
                `${name} failed (${typeof exit === 'number' ? `exit ${exit}` : error.message})${tail ? `: ${tail}` : ''}`,
                { check: name, cause: error },
              ),
            );
          },
        );
      }),
  };
}

/**
 * Healthy when the systemd unit is active (`systemctl is-active --quiet UNIT`).
 *
 * @example
 * ```ts
 * systemdUnitCheck('myapp.service');
 * ```
 */
export function systemdUnitCheck(
  unit: string,
  options: { timeoutMs?: number; systemctl?: string } = {},
): HealthCheck {
  if (!/^[A-Za-z0-9:_.@\\-]{1,255}$/.test(unit) || unit.startsWith('-')) {
    throw new InvalidStateError(`${JSON.stringify(unit)} is not a systemd unit name`);
  }
  return commandCheck(options.systemctl ?? 'systemctl', ['is-active', '--quiet', unit], {
    name: `systemd unit ${unit}`,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** Options of {@link httpProbe}. */
export interface HttpProbeOptions {
  /** Status that counts as healthy (default 200). */
  expectStatus?: number;
  timeoutMs?: number;
  name?: string;
}

/**
 * Healthy when a GET of `url` answers `expectStatus` (redirects are not followed). The body is
 * discarded.
 *
 * @example
 * ```ts
 * httpProbe('http://127.0.0.1:8080/healthz', { expectStatus: 204 });
 * ```
 */
export function httpProbe(url: string, options: HttpProbeOptions = {}): HealthCheck {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidStateError(`httpProbe needs an http(s) URL, got ${parsed.protocol}`);
  }
  const expect = options.expectStatus ?? 200;
  const name = options.name ?? `GET ${url}`;
  return {
    name,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    run: async (signal) => {
      // Loaded on first use: most devices never probe HTTP, and the agent starts on every boot.
      const { request } = await import('undici');
      const response = await request(url, { method: 'GET', signal });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
      if (response.statusCode !== expect) {
        throw new HealthCheckError(`${name} answered ${response.statusCode}, expected ${expect}`, {
          check: name,
        });
      }
    },
  };
}

/** What {@link updateServerCheck} needs: a TUF client (`Updater` satisfies it). */
export interface RefreshableSource {
  refresh(): Promise<void>;
}

/**
 * Healthy when the TUF client can refresh: the update server is reachable from the new image
 * and this device still authenticates its metadata (trusted root, clock, TLS, credentials), so
 * another update can always be deployed. The agent always includes it in the trial boot.
 *
 * Trial-only by default (`when: 'trial'`): the trial proves the new image CAN reach the server;
 * on later boots the network may be down for reasons that have nothing to do with the image
 * (a cable, the site's uplink, the server itself), and making confirmation depend on it would
 * put a committed device back on the previous release after one offline boot with GRUB, or
 * `maxTries` of them with RAUC-style U-Boot. Pass `when: 'always'` only if a device that cannot
 * reach its server should rather fall back.
 */
export function updateServerCheck(
  source: RefreshableSource,
  options: { timeoutMs?: number; when?: HealthCheckWhen; name?: string } = {},
): HealthCheck {
  return {
    name: options.name ?? UPDATE_SERVER_CHECK_NAME,
    when: options.when ?? 'trial',
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    run: () => source.refresh(),
  };
}
