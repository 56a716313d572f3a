/**
 * `RepositoryLock`: an exclusive, cross-process lock on a repository directory, held by every
 * session that changes it (every mutating `tufota` command), so two edits never read the same
 * state and publish over each other — the lost-edit race of two concurrent `add-target --publish`.
 *
 * The lock is the file `.tufota/lock`, holding JSON `{pid, hostname, command, startedAt, token}`.
 * It is created exclusively and complete: the record is written to a temporary file that is then
 * hard-linked to the lock name (`link` fails with `EEXIST` atomically, like `open(path, 'wx')`,
 * and a reader never sees a half-written record). Where the file system has no hard links the
 * lock file is created with `open(path, 'wx')` directly.
 *
 * A second writer waits up to `waitMs` (default 0: fail fast), polling, then gets a
 * {@link RepositoryLockedError} naming the holder.
 *
 * Stale locks. A lock whose holder ran on this host and whose pid no longer exists is taken over:
 * the stale file is renamed to a unique name (atomic: of several processes recovering at once,
 * exactly one moves it), the mover checks it moved the record it judged stale (same token) — and
 * if a live lock was moved instead (someone recovered and re-locked in between), links it back.
 * A lock from another host cannot be judged (its pid means nothing here): the error says which
 * host holds it and which file to remove once that holder is known to be gone. The residual race
 * — a live lock moved and, in the microseconds before it is linked back, a third process finding
 * no lock — needs a stale lock and three processes racing; it is documented, not prevented.
 *
 * Release removes the file only if it still holds this lock's token. {@link RepositoryLock.releaseSync}
 * exists for exit and signal handlers.
 *
 * Adapter (file system, process table). One `RepositoryLock` object is not re-entrant.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, linkSync, readFileSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { RepositoryLockedError, StorageError } from '../errors.js';

const debug = debuglog('tufota');

/** The lock file, relative to the repository directory. */
export const LOCK_PATH = '.tufota/lock';

/** Largest lock record read. */
const MAX_LOCK_RECORD = 4096;
/** Poll interval while waiting for a lock. */
const POLL_MS = 50;

/** Who holds a repository lock. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** What the holder is doing (`tufota add-target`). */
  command: string;
  /** ISO 8601 time the lock was taken. */
  startedAt: string;
  /** Random id of this acquisition (so a takeover or a release never removes another's lock). */
  token: string;
}

/** Options of {@link RepositoryLock.acquire}. */
export interface AcquireLockOptions {
  /** What the holder is doing, shown to whoever finds the lock held (e.g. `tufota publish`). */
  command: string;
  /** How long to wait for a held lock, in milliseconds (default 0: fail at once). */
  waitMs?: number;
  /** Clock, for the record's `startedAt` (default the system clock). */
  now?: () => Date;
}

/** Parse a lock record, or `undefined` when it is not one (torn, hand-edited). */
function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (
      typeof value.pid === 'number' &&
      Number.isSafeInteger(value.pid) &&
      value.pid > 0 &&
      typeof value.hostname === 'string' &&
      typeof value.command === 'string' &&
      typeof value.startedAt === 'string' &&
      typeof value.token === 'string'
    ) {
      return {
        pid: value.pid,
        hostname: value.hostname,
        command: value.command,
        startedAt: value.startedAt,
        token: value.token,
      };
    }
  } catch {}
  return undefined;
}

async function readHolder(file: string): Promise<LockHolder | 'absent' | 'unreadable'> {
  try {
    const handle = await fs.open(file, 'r');
    try {
      const buffer = Buffer.alloc(MAX_LOCK_RECORD);
      const { bytesRead } = await handle.read(buffer, 0, MAX_LOCK_RECORD, 0);
      return parseHolder(buffer.subarray(0, bytesRead).toString('utf8')) ?? 'unreadable';
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new StorageError(`cannot read lock ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  }
}

/** True when `holder` ran on this host and its process is gone. */
function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An acquired repository lock.
 *
 * @example
 * ```ts
 * const lock = await RepositoryLock.acquire('/srv/tuf', { command: 'release job', waitMs: 60_000 });
 * try {
 *   const repo = await Repository.open(await FsRepositoryStorage.open('/srv/tuf'), { signers });
 *   await repo.addTarget('fw/1.2.0.img', openFileSource('fw.img'));
 *   await repo.publish();
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class RepositoryLock {
  /** The lock file's absolute path. */
  readonly file: string;
  /** This lock's record. */
  readonly holder: LockHolder;
  /** Directories created to hold the lock, removed on release if still empty. */
  readonly #created: string[];
  #released = false;

  private constructor(file: string, holder: LockHolder, created: string[]) {
    this.file = file;
    this.holder = holder;
    this.#created = created;
  }

  /**
   * Take the lock of repository directory `dir` (creating `dir/.tufota/` if needed).
   *
   * @throws RepositoryLockedError `ERR_TUF_REPOSITORY_LOCKED` when another live process holds it
   *   after `waitMs`.
   * @throws StorageError when the lock file cannot be created.
   */
  static async acquire(dir: string, options: AcquireLockOptions): Promise<RepositoryLock> {
    const file = path.join(path.resolve(dir), ...LOCK_PATH.split('/'));
    const created: string[] = [];
    for (const d of [path.resolve(dir), path.dirname(file)]) {
      try {
        await fs.mkdir(d);
        created.unshift(d);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          await fs.mkdir(d, { recursive: true });
        } else if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StorageError(`cannot create ${d}: ${(error as Error).message}`, {
            cause: error,
            filePath: d,
          });
        }
      }
    }
    const holder: LockHolder = {
      pid: process.pid,
      hostname: hostname(),
      command: options.command,
      startedAt: (options.now?.() ?? new Date()).toISOString(),
      token: randomBytes(12).toString('hex'),
    };
    const record = `${JSON.stringify(holder)}\n`;
    const deadline = Date.now() + Math.max(0, options.waitMs ?? 0);
    const tmp = `${file}.${holder.token}.tmp`;
    await fs.writeFile(tmp, record, { flag: 'wx', mode: 0o644 });
    try {
      for (;;) {
        if (await tryCreate(file, tmp, record)) return new RepositoryLock(file, holder, created);
        const current = await readHolder(file);
        if (current === 'absent') continue;
        if (current !== 'unreadable' && isStale(current)) {
          await takeOver(file, current);
          continue;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new RepositoryLockedError(lockedMessage(dir, file, current, options.waitMs), {
            ...(current === 'unreadable' ? {} : { holder: current }),
            lockFile: file,
          });
        }
        await sleep(Math.min(POLL_MS, remaining));
      }
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => {});
    }
  }

  /** True until released. */
  get held(): boolean {
    return !this.#released;
  }

  /** Release the lock (only if the lock file is still this lock's). Idempotent. */
  async release(): Promise<void> {
    this.releaseSync();
  }

  /** Synchronous {@link release}, for `exit` and signal handlers. */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      const current = parseHolder(readFileSync(this.file, 'utf8'));
      if (current?.token === this.holder.token) unlinkSync(this.file);
      else debug('repository lock %s is no longer ours; left in place', this.file);
    } catch (error) {
      debug('repository lock %s: release: %s', this.file, (error as Error).message);
    }
    for (const dir of this.#created) {
      try {
        rmdirSync(dir);
      } catch {
        break; // not empty: the command created files there
      }
    }
  }
}

/** Create `file` exclusively with `record`: hard link of the complete `tmp`, else `wx`. */
async function tryCreate(file: string, tmp: string, record: string): Promise<boolean> {
  try {
    await fs.link(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw new StorageError(`cannot create lock ${file}: ${(error as Error).message}`, {
        cause: error,
        filePath: file,
      });
    }
  }
  // No hard links here: O_EXCL create (a reader may briefly see an empty file: "unreadable").
  try {
    await fs.writeFile(file, record, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StorageError(`cannot create lock ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  }
}

/** Move the stale lock `stale` out of the way (see the module comment for the protocol). */
async function takeOver(file: string, stale: LockHolder): Promise<void> {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another process did it
    throw new StorageError(`cannot take over stale lock ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  }
  const moved = await readHolder(aside);
  if (typeof moved === 'object' && moved.token !== stale.token) {
    // A live lock taken since we judged the old one stale: put it back.
    try {
      linkSync(aside, file);
    } catch (error) {
      debug('repository lock: could not restore %s: %s', file, (error as Error).message);
    }
  } else {
    debug(
      'repository lock: took over the lock of %s (pid %d, gone) from %s',
      stale.command,
      stale.pid,
      stale.startedAt,
    );
  }
  await fs.rm(aside, { force: true });
}

function lockedMessage(
  dir: string,
  file: string,
  holder: LockHolder | 'unreadable',
  waitMs: number | undefined,
): string {
  const waited =
    waitMs !== undefined && waitMs > 0 ? ` (waited ${Math.round(waitMs / 1000)} s)` : '';
  if (holder === 'unreadable') {
    return `repository ${dir} is locked by another process${waited}: ${file} exists but holds no readable record; if no tufota command is running on it, remove that file`;
  }
  const where =
    holder.hostname === hostname()
      ? `pid ${holder.pid}`
      : `pid ${holder.pid} on host ${holder.hostname}`;
  const stale = holder.hostname === hostname() ? '' : `; if that process is gone, remove ${file}`;
  return `repository ${dir} is locked by "${holder.command}" (${where}, since ${holder.startedAt})${waited}; nothing was changed: run this command again when it finishes, or pass --wait SECONDS${stale}`;
}
