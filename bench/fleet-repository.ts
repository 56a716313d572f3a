/**
 * The fleet-scale repository both repository-side and client-side benchmarks build: one fresh
 * ed25519 key per top-level role, succinct hash bins (TAP 15) under targets, and small targets
 * listed from metadata alone (length + hashes, the bulk-import path), so the two benchmarks
 * measure the same repository shape.
 *
 * Not safe for concurrent use of one directory.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { InMemorySigner } from '../src/crypto/index.js';
import { FsRepositoryStorage, Repository } from '../src/repository/index.js';

/** Listed target `i`: its path, and the length and hashes of its (never written) data. */
export interface ListedTarget {
  path: string;
  length: number;
  hashes: Record<string, string>;
}

/** The path of listed target `i`, spread over 500 board directories. */
export function listedPath(i: number): string {
  return `images/board-${i % 500}/image-${String(i).padStart(6, '0')}.bin`;
}

/** Listed target `i`: the data `target i`, hashed with sha256 and sha512. */
export function listedTarget(i: number): ListedTarget {
  const data = `target ${i}`;
  return {
    path: listedPath(i),
    length: data.length,
    hashes: {
      sha256: createHash('sha256').update(data).digest('hex'),
      sha512: createHash('sha512').update(data).digest('hex'),
    },
  };
}

/**
 * A new repository in `dir` with fresh ed25519 keys for the top-level roles and `2^bitLength`
 * hash bins (one more key), nothing published yet.
 */
export async function createBinnedRepository(
  dir: string,
  bitLength: number,
): Promise<{ repo: Repository; storage: FsRepositoryStorage }> {
  const [root, targets, snapshot, timestamp, bins] = await Promise.all(
    Array.from({ length: 5 }, () => InMemorySigner.generate('ed25519')),
  );
  const storage = await FsRepositoryStorage.open(dir);
  const repo = await Repository.create(storage, {
    roles: {
      root: { keys: [root!] },
      targets: { keys: [targets!] },
      snapshot: { keys: [snapshot!] },
      timestamp: { keys: [timestamp!] },
    },
  });
  repo.createHashBins({ bitLength, keys: [bins!] });
  return { repo, storage };
}
