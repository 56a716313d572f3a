/**
 * `FileInventoryStore`: the director inventory as files — `roots/N.root.json` and
 * `devices/<encoded id>.json` — each written atomically and durably (temp file, fsync, rename,
 * fsync of the directory). Adequate for development and small fleets; the server issue brings
 * databases.
 *
 * Not safe for use by two processes at once; within one process the director serializes writes.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { encodeRoleName } from '../../client/role-names.js';
import { StorageError } from '../../errors.js';
import { TEMP_PREFIX, writeFileAtomic } from '../../storage/atomic-file.js';
import type { DeviceRecord, InventoryStore } from './inventory.js';

/** Largest device record read back. */
const MAX_RECORD_LENGTH = 16 * 1024 * 1024;

/**
 * An inventory in a directory.
 *
 * @example
 * ```ts
 * const director = await Director.create({ inventory: new FileInventoryStore('/var/lib/director'), signers });
 * ```
 */
export class FileInventoryStore implements InventoryStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async #read(file: string): Promise<Buffer | undefined> {
    try {
      const stat = await fs.stat(file);
      if (stat.size > MAX_RECORD_LENGTH) {
        throw new StorageError(`${file} is larger than ${MAX_RECORD_LENGTH} bytes`, {
          filePath: file,
        });
      }
      return await fs.readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (error instanceof StorageError) throw error;
      throw new StorageError(`cannot read ${file}: ${(error as Error).message}`, {
        filePath: file,
        cause: error,
      });
    }
  }

  async loadRoots(): Promise<Uint8Array[]> {
    const roots: Uint8Array[] = [];
    for (let version = 1; ; version++) {
      const bytes = await this.#read(path.join(this.#dir, 'roots', `${version}.root.json`));
      if (bytes === undefined) return roots;
      roots.push(new Uint8Array(bytes));
    }
  }

  async saveRoot(version: number, bytes: Uint8Array): Promise<void> {
    const dir = path.join(this.#dir, 'roots');
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, `${version}.root.json`), bytes);
  }

  #devicePath(deviceId: string): string {
    // Percent-encoded: a device id is never a path.
    return path.join(this.#dir, 'devices', `${encodeRoleName(deviceId)}.json`);
  }

  async loadDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    const file = this.#devicePath(deviceId);
    const bytes = await this.#read(file);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8')) as DeviceRecord;
    } catch (error) {
      throw new StorageError(`${file} is not a device record: ${(error as Error).message}`, {
        filePath: file,
        cause: error,
      });
    }
  }

  async saveDevice(record: DeviceRecord): Promise<void> {
    const file = this.#devicePath(record.deviceId);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(record)));
  }

  async listDevices(): Promise<string[]> {
    const names = await fs.readdir(path.join(this.#dir, 'devices')).catch(() => [] as string[]);
    return names
      .filter((n) => n.endsWith('.json') && !n.startsWith(TEMP_PREFIX))
      .map((n) => decodeURIComponent(n.slice(0, -'.json'.length)));
  }
}
