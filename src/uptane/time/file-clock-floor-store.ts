/**
 * `FileClockFloorStore`: the {@link TrustedClock} floor in a small file (ISO 8601 text), written
 * atomically and durably. A missing file is "no floor yet"; a corrupt one is a `StorageError`
 * (never silently "no floor": that would let a clock set back pass).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { StorageError } from '../../errors.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import type { ClockFloorStore } from './trusted-clock.js';

/** The floor in `file`. */
export class FileClockFloorStore implements ClockFloorStore {
  readonly #file: string;
  constructor(file: string) {
    this.#file = file;
  }

  async read(): Promise<Date | undefined> {
    let text: string;
    try {
      const handle = await fs.open(this.#file, 'r');
      try {
        const buf = Buffer.alloc(64);
        const { bytesRead } = await handle.read(buf, 0, 64, 0);
        text = buf.subarray(0, bytesRead).toString('utf8').trim();
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError(`cannot read the time floor ${this.#file}`, {
        filePath: this.#file,
        cause: error,
      });
    }
    const time = new Date(text);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(time.getTime())) {
      throw new StorageError(`the time floor ${this.#file} is corrupt: ${JSON.stringify(text)}`, {
        filePath: this.#file,
      });
    }
    return time;
  }

  async write(floor: Date): Promise<void> {
    await writeFileAtomic(this.#file, `${floor.toISOString()}\n`);
  }
}
