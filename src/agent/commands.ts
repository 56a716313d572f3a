/**
 * The one-shot commands of `tufota-agent`: `check`, `install`, `resume`,
 * `commit`/`mark-good`, `rollback`/`mark-bad`. Each returns a result object (printed as JSON with
 * `--json`) and an exit code; `status` is in `status.ts`. All decisions are the library's:
 * `UpdateAgent` installs, resumes and commits; `checkCompatibility`/`checkNotDowngrade` explain
 * what `check` would do; the slot controller confirms or rejects.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import semver from 'semver';
import type { Updater } from '../client/updater.js';
import {
  checkCompatibility,
  checkNotDowngrade,
  FsJournalStore,
  type InstalledState,
  isTerminalPhase,
  journalTargetOf,
  type ResumeResult,
  sameTarget,
} from '../device/index.js';
import { InvalidStateError, TargetNotFoundError, TufError, UsageError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { AgentConfig } from './config.js';
import { openFleetSession } from './fleet-wiring.js';
import { openAgent, openSlots } from './wiring.js';

/** The agent of either mode, for the commands that only need the slots and the journal. */
async function openAnyAgent(config: AgentConfig, purpose: string) {
  return config.fleet !== undefined
    ? openFleetSession(config, purpose)
    : openAgent(config, purpose);
}

/** Stable exit codes of `tufota-agent` (documented in the integrator guide). */
export const AgentExit = {
  /** Success (for `check`: whether or not an update is available). */
  ok: 0,
  /** The command failed (network, storage, slot error); the message says what to do. */
  failure: 1,
  /** Usage or configuration error (the message names the option or config field). */
  usage: 2,
  /** Another agent holds the state directory (`ERR_TUF_LOCKED`). */
  locked: 3,
  /** The update was refused, failed, or rolled back (or the device fell back). */
  updateFailed: 4,
} as const;

/** The file the last check's outcome is kept in (for `status`). */
export const LAST_CHECK_FILE = 'last-check.json';

/** What `check` found. */
export interface CheckResult {
  checkedAt: string;
  /**
   * `install`: a newer release is available; `up-to-date`; `refused`: listed but policy says no;
   * `deferred` (fleet mode): the deployment needs the integrator's consent, which was not given;
   * `none`: nothing listed.
   */
  action: 'install' | 'up-to-date' | 'refused' | 'deferred' | 'none';
  reason: string;
  target?: { path: string; version?: string; releaseCounter?: number; length: number };
  installed?: { path: string; version?: string };
  error?: { code: string; message: string };
}

function custom(info: TargetFile): { version?: string; releaseCounter?: number; hw?: unknown } {
  const c = (info.custom ?? {}) as Record<string, unknown>;
  return {
    ...(typeof c.version === 'string' ? { version: c.version } : {}),
    ...(typeof c.releaseCounter === 'number' ? { releaseCounter: c.releaseCounter } : {}),
    hw: c.hardwareIds,
  };
}

/**
 * The release to install: the configured path, or under a configured prefix (`…/`) the top-level
 * target for this hardware id with the highest `releaseCounter`, then the highest version. The
 * entry returned is always the one `getTargetInfo` finds (delegations applied).
 */
export async function selectTarget(
  updater: Updater,
  config: AgentConfig,
  explicit?: string,
): Promise<TargetFile | undefined> {
  await updater.refresh();
  const wanted = explicit ?? config.target;
  if (!wanted.endsWith('/')) return updater.getTargetInfo(wanted);
  const listed = Object.values(updater.trustedSet.targets?.signed.targets ?? {}).filter((t) => {
    const hw = custom(t).hw;
    return t.path.startsWith(wanted) && Array.isArray(hw) && hw.includes(config.hardwareId);
  });
  listed.sort((a, b) => {
    const ca = custom(a);
    const cb = custom(b);
    const byCounter = (cb.releaseCounter ?? -1) - (ca.releaseCounter ?? -1);
    if (byCounter !== 0) return byCounter;
    const va = semver.valid(ca.version ?? '');
    const vb = semver.valid(cb.version ?? '');
    if (va && vb) return semver.rcompare(va, vb);
    return a.path < b.path ? 1 : -1;
  });
  const best = listed[0];
  return best === undefined ? undefined : updater.getTargetInfo(best.path);
}

/** An error as `{code, message}` for JSON output. */
export function errorOf(error: unknown): { code: string; message: string } {
  return {
    code: error instanceof TufError ? error.code : 'ERR_TUF',
    message: (error as Error).message ?? String(error),
  };
}

/** Decide, without writing anything, what an install of `info` would do. */
export function explain(
  info: TargetFile | undefined,
  installed: InstalledState | undefined,
  booted: string,
  config: AgentConfig,
  now: Date,
): CheckResult {
  const base = {
    checkedAt: now.toISOString(),
    ...(installed?.target !== undefined
      ? {
          installed: {
            path: installed.target.path,
            ...(installed.target.version !== undefined
              ? { version: installed.target.version }
              : {}),
          },
        }
      : {}),
  };
  if (info === undefined) {
    return { ...base, action: 'none', reason: `no trusted target matches ${config.target}` };
  }
  const c = custom(info);
  const target = {
    path: info.path,
    ...(c.version !== undefined ? { version: c.version } : {}),
    ...(c.releaseCounter !== undefined ? { releaseCounter: c.releaseCounter } : {}),
    length: info.length,
  };
  try {
    checkCompatibility(info, config.hardwareId);
    checkNotDowngrade(info, installed?.floors ?? {});
  } catch (error) {
    return {
      ...base,
      target,
      action: 'refused',
      reason: (error as Error).message,
      error: errorOf(error),
    };
  }
  if (
    installed?.slot === booted &&
    installed.target !== undefined &&
    sameTarget(installed.target, journalTargetOf(info))
  ) {
    return {
      ...base,
      target,
      action: 'up-to-date',
      reason: `${info.path} already runs in slot ${booted}`,
    };
  }
  return {
    ...base,
    target,
    action: 'install',
    reason: `${info.path}${c.version ? ` ${c.version}` : ''} is signed for ${config.hardwareId} and passes the anti-rollback floors`,
  };
}

/** `check`: refresh metadata and say what would be installed and why (or why not). */
export async function checkCommand(
  config: AgentConfig,
  session: { updater: Updater },
): Promise<CheckResult> {
  const store = await FsJournalStore.create(config.stateDir);
  const slots = await openSlots(config);
  let result: CheckResult;
  try {
    const info = await selectTarget(session.updater, config);
    result = explain(
      info,
      await store.readInstalled(),
      await slots.bootedSlot(),
      config,
      new Date(),
    );
  } catch (error) {
    result = {
      checkedAt: new Date().toISOString(),
      action: 'none',
      reason: `the check failed: ${(error as Error).message}`,
      error: errorOf(error),
    };
  }
  await writeFileAtomic(path.join(store.dir, LAST_CHECK_FILE), `${JSON.stringify(result)}\n`, {
    durable: false,
  }).catch(() => {});
  return result;
}

/** What `install` accepts: a target path, a local image file, or a bundle (`.tar`). */
export type InstallSource =
  | { kind: 'target'; path?: string }
  | { kind: 'file'; file: string }
  | { kind: 'bundle'; file: string };

/** Tell a target path from a local image file or a bundle. */
export async function classifyInstallArg(arg: string | undefined): Promise<InstallSource> {
  if (arg === undefined) return { kind: 'target' };
  const stat = await fs.stat(arg).catch(() => undefined);
  if (stat === undefined) return { kind: 'target', path: arg };
  if (!stat.isFile()) throw new UsageError(`${arg} is not a regular file`);
  return arg.endsWith('.tar')
    ? { kind: 'bundle', file: path.resolve(arg) }
    : { kind: 'file', file: path.resolve(arg) };
}

/** `install`: the configured (or given) release, a local file verified against metadata, or a bundle. */
export async function installCommand(
  config: AgentConfig,
  source: InstallSource,
  options: { targetPath?: string; force?: boolean; signal?: AbortSignal },
): Promise<Record<string, unknown>> {
  if (config.fleet !== undefined) {
    throw new UsageError(
      'install: in fleet mode the director assigns what to install (an operator assigns it through the admin API); run check or daemon',
    );
  }
  const session = await openAgent(config, 'tufota-agent install', {
    ...(source.kind === 'bundle' ? { bundlePath: source.file } : {}),
    ...(source.kind === 'file' ? { imageFile: source.file } : {}),
  });
  try {
    const resumed = await session.agent.resume(options.signal ? { signal: options.signal } : {});
    if (resumed.outcome === 'rebooting') return { outcome: 'rebooting', resumed: true };
    if (options.signal?.aborted) return { outcome: 'interrupted' };
    const explicit = source.kind === 'target' ? source.path : options.targetPath;
    const info = await selectTarget(session.updater, config, explicit);
    if (info === undefined) {
      throw new TargetNotFoundError(`no trusted target matches ${explicit ?? config.target}`);
    }
    if (source.kind === 'file') {
      const length = (await fs.stat(source.file)).size;
      if (length !== info.length) {
        throw new UsageError(
          `${source.file} is ${length} bytes but the signed ${info.path} is ${info.length}: not that release (pass --target PATH)`,
        );
      }
    }
    const result = await session.agent.install(info, {
      ...(options.force ? { force: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { target: info.path, ...result };
  } finally {
    await session.close();
  }
}

/** The exit code of a resume outcome. */
export function resumeExit(result: ResumeResult): number {
  return result.outcome === 'rolledBack' ||
    result.outcome === 'failed' ||
    result.outcome === 'fellBack'
    ? AgentExit.updateFailed
    : AgentExit.ok;
}

/**
 * `resume`: the boot step. With `bundlePath`, the trial's update-server check refreshes from that
 * bundle (an offline device installed from it) instead of the server.
 */
export async function resumeCommand(
  config: AgentConfig,
  bundlePath?: string,
  signal?: AbortSignal,
): Promise<ResumeResult> {
  const session = await openAgent(config, 'tufota-agent resume', {
    ...(bundlePath !== undefined ? { bundlePath } : {}),
  });
  try {
    return await session.agent.resume(signal !== undefined ? { signal } : {});
  } finally {
    await session.close();
  }
}

/**
 * `commit` / `mark-good`: the booted slot is good. With the update's trial running here, the
 * agent concludes it (its health checks run, then confirm and the floors rise: `resume`);
 * with nothing in flight, the booted slot is confirmed (RAUC's mark-good, for bootloaders that
 * count every boot).
 */
export async function commitCommand(config: AgentConfig): Promise<Record<string, unknown>> {
  const session = await openAnyAgent(config, 'tufota-agent commit');
  try {
    const { journal } = await session.agent.state();
    const booted = await session.slots.bootedSlot();
    if (journal !== undefined && !isTerminalPhase(journal.phase)) {
      if (journal.slot !== booted) {
        throw new InvalidStateError(
          `update ${journal.updateId} targets slot ${journal.slot} but slot ${booted} is booted: nothing to commit here (reboot into it, or rollback)`,
        );
      }
      const result = await session.agent.resume();
      return {
        outcome: result.outcome,
        slot: booted,
        ...(result.error ? { error: result.error } : {}),
      };
    }
    await session.slots.confirmBooted();
    return { outcome: 'confirmed', slot: booted };
  } finally {
    await session.close();
  }
}

/**
 * `rollback` / `mark-bad`: abandon the update in flight. Running its trial: reject the slot and
 * reboot (the next `resume` records the rollback). Activated but not booted yet: cancel the trial
 * and conclude it now. Nothing in flight: reject the booted slot if it is still on trial.
 */
export async function rollbackCommand(config: AgentConfig): Promise<Record<string, unknown>> {
  const session = await openAnyAgent(config, 'tufota-agent rollback');
  try {
    const { journal } = await session.agent.state();
    const booted = await session.slots.bootedSlot();
    if (journal !== undefined && !isTerminalPhase(journal.phase) && journal.slot === booted) {
      await session.slots.rejectBooted();
      await session.reboot();
      return { outcome: 'rebooting', rejected: booted };
    }
    if (journal?.phase === 'writing' || journal?.phase === 'written') {
      throw new InvalidStateError(
        `update ${journal.updateId} is still ${journal.phase} slot ${journal.slot} (not activated): nothing to roll back; the slot stays unbootable until an install completes`,
      );
    }
    if (journal !== undefined && !isTerminalPhase(journal.phase)) {
      await session.slots.cancelTrial();
      const result = await session.agent.resume();
      return { outcome: result.outcome, ...(result.error ? { error: result.error } : {}) };
    }
    await session.slots.rejectBooted();
    return { outcome: 'rejected', slot: booted, note: 'reboot to fall back' };
  } finally {
    await session.close();
  }
}
