/**
 * `FsJournalStore`: the device agent's {@link JournalStore} as two small files in a state
 * directory — `journal.json` (the update in flight) and `installed.json` (the committed image and
 * the anti-rollback floors).
 *
 * Every write is {@link writeFileAtomic} (temp file, fsync, rename, fsync directory), so a power
 * cut leaves the previous or the next record, never a torn one. Reads are capped at
 * {@link MAX_JOURNAL_BYTES} and strictly validated (`device/journal.ts`): a corrupt file is a
 * `StorageError`, never a default. A corrupt journal can be moved aside
 * ({@link FsJournalStore.quarantineJournal}) so the agent can start over; a corrupt
 * `installed.json` is never replaced silently (that would reset the floors).
 *
 * Does not lock by itself: an `UpdateAgent` that opens its `stateDir` holds `agent.lock` there
 * (`PidLock`), which keeps a second agent out. Safe for concurrent use within a process only if
 * the caller serializes writes of one file (the agent does).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  type InstalledState,
  type Journal,
  type JournalStore,
  MAX_JOURNAL_BYTES,
  parseInstalled,
  parseJournal,
  serializeInstalled,
  serializeJournal,
} from '../device/journal.js';
import { StorageError } from '../errors.js';
import { renameDurable, writeFileAtomic } from './atomic-file.js';

/** File names inside the state directory. */
export const JOURNAL_FILE = 'journal.json';
/** See {@link JOURNAL_FILE}. */
export const INSTALLED_FILE = 'installed.json';

/**
 * {@link JournalStore} over a directory.
 *
 * @example
 * ```ts
 * const store = await FsJournalStore.create('/var/lib/tufota/agent');
 * const journal = await store.readJournal(); // undefined on a fresh device
 * ```
 */
export class FsJournalStore implements JournalStore {
  /** The state directory. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** A store on `dir`, created (mode 0700) if missing. */
  static async create(dir: string): Promise<FsJournalStore> {
    if (typeof dir !== 'string' || dir === '') {
      throw new StorageError('the agent state directory must be a non-empty path');
    }
    const resolved = path.resolve(dir);
    try {
      await fs.mkdir(resolved, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StorageError(
        `cannot create state directory ${resolved}: ${(error as Error).message}`,
        {
          cause: error,
          filePath: resolved,
        },
      );
    }
    return new FsJournalStore(resolved);
  }

  /** Path of the journal file. */
  get journalPath(): string {
    return path.join(this.dir, JOURNAL_FILE);
  }

  /** Path of the installed-state file. */
  get installedPath(): string {
    return path.join(this.dir, INSTALLED_FILE);
  }

  async readJournal(): Promise<Journal | undefined> {
    const bytes = await readCapped(this.journalPath);
    return bytes === undefined ? undefined : parseJournal(bytes, this.journalPath);
  }

  writeJournal(journal: Journal): Promise<void> {
    return writeFileAtomic(this.journalPath, serializeJournal(journal), { mode: 0o600 });
  }

  async quarantineJournal(): Promise<string | undefined> {
    const exists = await fs.stat(this.journalPath).then(
      () => true,
      () => false,
    );
    if (!exists) return undefined;
    // The name carries no clock reading: a counter keeps earlier post-mortems.
    for (let n = 1; n < 1000; n++) {
      const to = path.join(this.dir, `${JOURNAL_FILE}.corrupt-${n}`);
      const taken = await fs.stat(to).then(
        () => true,
        () => false,
      );
      if (taken) continue;
      await renameDurable(this.journalPath, to);
      return to;
    }
    await fs.rm(this.journalPath, { force: true });
    return undefined;
  }

  async readInstalled(): Promise<InstalledState | undefined> {
    const bytes = await readCapped(this.installedPath);
    return bytes === undefined ? undefined : parseInstalled(bytes, this.installedPath);
  }

  writeInstalled(state: InstalledState): Promise<void> {
    return writeFileAtomic(this.installedPath, serializeInstalled(state), { mode: 0o600 });
  }
}

/** The file's bytes (at most the cap + 1 read), or `undefined` if it does not exist. */
async function readCapped(file: string): Promise<Uint8Array | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const buf = Buffer.alloc(MAX_JOURNAL_BYTES + 1);
    let total = 0;
    while (total < buf.length) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > MAX_JOURNAL_BYTES) {
      throw new StorageError(`${file} is larger than ${MAX_JOURNAL_BYTES} bytes`, {
        filePath: file,
      });
    }
    return buf.subarray(0, total);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof StorageError) throw error;
    throw new StorageError(`cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  } finally {
    await handle?.close();
  }
}
