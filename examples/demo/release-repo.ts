/**
 * The demo's update repository: a TUF repository on disk made with `tufota/repository`
 * (`Repository` over `FsRepositoryStorage`), releases published with tufota's `custom`
 * conventions (`hardwareIds`, `version`, `releaseCounter`), and — for the tampering scenario —
 * an attacker's edit of a published image file, made after it was signed.
 *
 * One in-memory ed25519 key signs every role here; a production repository keeps the root and
 * targets keys offline (`tufota key`, `tufota sign`).
 *
 * Not safe for concurrent use: one publisher at a time.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { TargetFile } from 'tufota';
import { InMemorySigner } from 'tufota';
import { consistentTargetPath, FsRepositoryStorage, Repository } from 'tufota/repository';

/** What a release says about itself (`custom` of its target entry). */
export interface ReleaseInfo {
  hardwareIds: string[];
  version: string;
  releaseCounter: number;
}

/** A repository in a directory, served as static files. */
export class DemoRepository {
  /** The repository root (`metadata/`, `targets/`): what the server serves. */
  readonly dir: string;
  readonly #repo: Repository;

  private constructor(dir: string, repo: Repository) {
    this.dir = dir;
    this.#repo = repo;
  }

  /** Generate a key and create root v1, targets, snapshot and timestamp in `dir`. */
  static async create(dir: string): Promise<DemoRepository> {
    const key = await InMemorySigner.generate('ed25519');
    const roles = { keys: [key] };
    const repo = await Repository.create(await FsRepositoryStorage.open(dir), {
      roles: { root: roles, targets: roles, snapshot: roles, timestamp: roles },
      signers: [key],
    });
    await repo.publish();
    return new DemoRepository(dir, repo);
  }

  /** The root metadata a device is provisioned with (its trust anchor). */
  rootBytes(): Uint8Array {
    const root = this.#repo.getPublished('root');
    if (root === undefined) throw new Error('the repository has not published root.json');
    return root.bytes;
  }

  /** Copy the image into `targets/`, list it in targets.json, sign and publish. */
  async publish(targetPath: string, image: Uint8Array, release: ReleaseInfo): Promise<TargetFile> {
    const info = await this.#repo.addTarget(targetPath, image, release);
    await this.#repo.publish();
    return info;
  }

  /**
   * What an attacker with write access to the server (or a mirror, or a CDN) can do: change a
   * published image. Flips one byte at `offset` in the stored copy (`HASH.NAME` for each hash
   * algorithm, hard links to one file) and returns their paths. The signed metadata is untouched: the attacker has
   * no key.
   */
  async tamper(info: TargetFile, offset: number): Promise<string[]> {
    const files = Object.values(info.hashes).map((digest) =>
      path.join(this.dir, consistentTargetPath(info.path, digest)),
    );
    // The hash names are hard links to one copy: flip the byte once per copy, not once per name.
    const flipped = new Set<number>();
    for (const file of files) {
      const handle = await fs.open(file, 'r+');
      try {
        const { ino } = await handle.stat();
        if (flipped.has(ino)) continue;
        flipped.add(ino);
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, offset);
        byte[0] = (byte[0] as number) ^ 0x01;
        await handle.write(byte, 0, 1, offset);
      } finally {
        await handle.close();
      }
    }
    return files;
  }
}
