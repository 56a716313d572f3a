/**
 * `PidLock`: an exclusive, cross-process lock held as a file that names its holder — the way a
 * device makes "two update agents on one state directory" impossible (two writers of one journal
 * and one boot environment would each believe the other's half-written slot was theirs).
 *
 * Acquire: the holder record (`pid`, host, boot id, process start time, command, purpose, a random
 * nonce) is written to a temporary file, fsynced, then `link()`ed to the lock path. `link` fails
 * with `EEXIST` if the lock exists, atomically — the same guarantee as `O_CREAT|O_EXCL` — and the
 * lock never appears half written. Release: remove the file if it still holds our nonce.
 *
 * Stale locks. A process that dies (crash, `SIGKILL`, power cut) leaves its file. A lock is stale
 * when its holder provably no longer runs: the host is this one and either the boot id differs
 * (the machine rebooted since — on a device, pids are reused right after boot, so `kill(pid, 0)`
 * alone would find "a holder"), the pid does not exist (`ESRCH`), or the pid now belongs to a
 * process that started at another time (`/proc/<pid>/stat` field 22). A file that is not a lock
 * record (our writer never exposes a partial one) is stale too. A stale lock is removed under a
 * short-lived second lock (`<lock>.break`, taken the same way) after re-reading it, so two
 * processes recovering the same stale lock cannot remove each other's fresh one. A lock held on
 * another host (a shared network directory) is never broken automatically.
 *
 * Linux-specific parts (`/proc`) degrade to the `kill(pid, 0)` test elsewhere. Safe for
 * concurrent use across processes; one `PidLock` instance is released once.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LockHeldError, StorageError } from '../errors.js';

/** The largest lock file read (a holder record is a few hundred bytes). */
const MAX_LOCK_BYTES = 16 * 1024;
/** Attempts to take the lock when stale locks keep being found (each is removed first). */
const MAX_ATTEMPTS = 5;

/** Who holds a lock, as recorded in the lock file. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** `/proc/sys/kernel/random/boot_id` when the lock was taken (Linux). */
  bootId?: string;
  /** The holder's start time in clock ticks since boot (`/proc/<pid>/stat` field 22; Linux). */
  startTime?: string;
  /** What the holder does, e.g. `tufota-agent daemon`. */
  purpose: string;
  /** The holder's command line (truncated). */
  command: string;
  /** ISO 8601 time the lock was taken. */
  acquiredAt: string;
  /** Random: tells this holder's file from a later one with the same pid. */
  nonce: string;
}

/** Options of {@link PidLock.acquire}. */
export interface PidLockOptions {
  /** What the holder does, shown to whoever is refused (default: the command line). */
  purpose?: string;
  /** The clock for `acquiredAt` (default: the system clock). */
  now?: () => Date;
}

/**
 * An acquired lock. Release it with {@link PidLock.release}.
 *
 * @example
 * ```ts
 * const lock = await PidLock.acquire('/var/lib/tufota/agent/agent.lock', { purpose: 'tufota-agent daemon' });
 * try { … } finally { await lock.release(); }
 * ```
 */
export class PidLock {
  /** The lock file. */
  readonly file: string;
  /** This process's record in it. */
  readonly holder: LockHolder;
  #released = false;

  private constructor(file: string, holder: LockHolder) {
    this.file = file;
    this.holder = holder;
  }

  /**
   * Take the lock at `file` (its directory must exist), removing a stale one first.
   *
   * @throws LockHeldError `ERR_TUF_LOCKED` naming the holder if a live process holds it.
   * @throws StorageError if the lock file cannot be created or read.
   */
  static async acquire(file: string, options: PidLockOptions = {}): Promise<PidLock> {
    const lockFile = path.resolve(file);
    const command = process.argv.slice(1).join(' ').slice(0, 300);
    const holder: LockHolder = {
      pid: process.pid,
      hostname: os.hostname(),
      ...optional('bootId', readBootId()),
      ...optional('startTime', readStartTime(process.pid)),
      purpose: options.purpose ?? command,
      command,
      acquiredAt: (options.now ?? (() => new Date()))().toISOString(),
      nonce: randomBytes(12).toString('hex'),
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await createExclusive(lockFile, holder)) return new PidLock(lockFile, holder);
      const found = await readHolder(lockFile);
      if (found === null) continue; // released in between: try again
      // A file that is no lock record never came from a live holder (records appear whole).
      if (found !== 'invalid' && isLive(found)) throw heldError(lockFile, found);
      await breakStale(lockFile, found);
    }
    throw new StorageError(
      `could not take ${lockFile}: it kept reappearing after ${MAX_ATTEMPTS} stale-lock removals`,
      { filePath: lockFile },
    );
  }

  /**
   * Remove the lock file if it is still ours (idempotent). A file that names another holder is
   * left alone: someone broke our lock as stale, which only happens if this process looked dead.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const found = await readHolder(this.file).catch(() => null);
    if (found !== null && found !== 'invalid' && found.nonce === this.holder.nonce) {
      await fs.rm(this.file, { force: true });
    }
  }
}

/**
 * The record in `file`: `null` if there is no lock, `'invalid'` if the file is not a lock record.
 *
 * @throws StorageError if the file exists but cannot be read.
 */
export async function readLockHolder(file: string): Promise<LockHolder | 'invalid' | null> {
  return readHolder(path.resolve(file));
}

/** Whether the process recorded in `holder` may still run (see the module comment). */
export function isLive(holder: LockHolder): boolean {
  if (holder.hostname !== os.hostname()) return true; // cannot tell: never break it
  const bootId = readBootId();
  if (holder.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId) {
    return false;
  }
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, owned by another user.
  }
  const startTime = readStartTime(holder.pid);
  return !(
    holder.startTime !== undefined &&
    startTime !== undefined &&
    startTime !== holder.startTime
  );
}

function heldError(file: string, holder: LockHolder): LockHeldError {
  const where = holder.hostname === os.hostname() ? '' : ` on host ${holder.hostname}`;
  return new LockHeldError(
    `${path.dirname(file)} is in use by ${holder.purpose} (pid ${holder.pid}${where}, since ${holder.acquiredAt}; lock file ${file}). ` +
      (where === ''
        ? 'Stop that process first (only one may use this directory at a time).'
        : `Stop it there; if it is gone, remove ${file} by hand.`),
    { filePath: file, holderPid: holder.pid },
  );
}

/** Write `holder` to a temp file and link it to `file`: `false` if `file` exists. */
async function createExclusive(file: string, holder: LockHolder): Promise<boolean> {
  const tmp = path.join(
    path.dirname(file),
    `.tmp-${path.basename(file)}-${randomBytes(6).toString('hex')}`,
  );
  try {
    const handle = await fs.open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(holder)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.link(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StorageError(`cannot create lock ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => {});
  }
}

async function readHolder(file: string): Promise<LockHolder | 'invalid' | null> {
  let text: string;
  try {
    const handle = await fs.open(file, 'r');
    try {
      const buf = Buffer.alloc(MAX_LOCK_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_LOCK_BYTES) return 'invalid';
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError(`cannot read lock ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  }
  return parseHolder(text);
}

function parseHolder(text: string): LockHolder | 'invalid' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null) return 'invalid';
  const v = value as Record<string, unknown>;
  const str = (k: string) => typeof v[k] === 'string';
  const optStr = (k: string) => v[k] === undefined || str(k);
  if (
    !Number.isSafeInteger(v.pid) ||
    (v.pid as number) <= 0 ||
    !str('hostname') ||
    !str('purpose') ||
    !str('command') ||
    !str('acquiredAt') ||
    !str('nonce') ||
    !optStr('bootId') ||
    !optStr('startTime')
  ) {
    return 'invalid';
  }
  return v as unknown as LockHolder;
}

/**
 * Remove the stale lock `file` whose record was `stale`, under `<file>.break` so that two
 * processes recovering at once cannot remove a fresh lock one of them just took.
 */
async function breakStale(file: string, stale: LockHolder | 'invalid'): Promise<void> {
  const breaker = `${file}.break`;
  const me: LockHolder = {
    pid: process.pid,
    hostname: os.hostname(),
    ...optional('bootId', readBootId()),
    ...optional('startTime', readStartTime(process.pid)),
    purpose: 'stale-lock recovery',
    command: '',
    acquiredAt: new Date(0).toISOString(),
    nonce: randomBytes(12).toString('hex'),
  };
  if (!(await createExclusive(breaker, me))) {
    const other = await readHolder(breaker);
    if (other !== null && other !== 'invalid' && isLive(other)) {
      // Another process is removing it right now (a few file operations): look again shortly.
      await delay(20);
      return;
    }
    // The breaker died mid-recovery (or left garbage): its file is stale too. (Two processes
    // finding a dead breaker at the same instant could still race; that needs a crash within
    // microseconds of taking the breaker, and is not guarded against.)
    if (other !== null) await fs.rm(breaker, { force: true });
    return;
  }
  try {
    const again = await readHolder(file);
    const same =
      again !== null &&
      (again === 'invalid'
        ? stale === 'invalid'
        : stale !== 'invalid' && again.nonce === stale.nonce);
    if (same) await fs.rm(file, { force: true });
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of `/proc/<pid>/stat` (after the parenthesised command, which may hold spaces). */
function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): field 22 is fields[19].
    return fields[19];
  } catch {
    return undefined;
  }
}
