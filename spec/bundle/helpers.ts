/**
 * Helpers for the bundle specs: a published repository at root v3 with a top-level and a
 * delegated target, and a device (metadata store trusting root v1, target directory).
 */
import { mkdir, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Fetcher } from '../../src/client/fetcher.js';
import { Updater } from '../../src/client/updater.js';
import { FsMetadataStore } from '../../src/storage/fs-metadata-store.js';
import { createRepository, ed25519, T0 } from '../repository/helpers.js';

export { removeDir, T0, tempDir } from '../repository/helpers.js';

export const FIRMWARE = 'firmware/board-a/1.2.0.img';
export const APP = 'apps/monitor 2.bin';
export const firmwareBytes = new Uint8Array(200_000).map((_, i) => (i * 31) % 251);
export const appBytes = new TextEncoder().encode('monitor app v2');

/** A repository in `dir`: root rotated 1 → 2 → 3, a delegated `apps` role, two targets. */
export async function makeRepository(dir: string) {
  const { repo, keys } = await createRepository(dir);
  const rootV1 = repo.getPublished('root')!.bytes;
  const [apps, r2] = await ed25519(2);
  repo.delegate('apps', { paths: ['apps/*'], keys: [apps!] });
  await repo.addTarget(FIRMWARE, firmwareBytes, { hardwareIds: ['board-a'], version: '1.2.0' });
  await repo.addTarget(APP, appBytes, { role: 'apps' });
  await repo.publish();
  repo.addKey('root', r2!);
  await repo.publish(); // root v2
  repo.revokeKey('root', keys.root.keyid);
  await repo.publish(); // root v3
  return { repo, keys, rootV1, rootV3: repo.getPublished('root')!.bytes };
}

/** A device trusting `rootBytes`, updating through `fetcher` as it would online. */
export async function makeDevice(base: string, rootBytes: Uint8Array, fetcher: Fetcher) {
  const metadataDir = path.join(base, 'metadata');
  const targetDir = path.join(base, 'targets');
  await mkdir(targetDir, { recursive: true });
  const updater = await Updater.create({
    metadataBaseUrl: 'metadata/',
    targetBaseUrl: 'targets/',
    targetDir,
    fetcher,
    metadataStore: await FsMetadataStore.init(metadataDir, rootBytes),
  });
  return { updater, metadataDir, targetDir };
}

/** Sorted file names in `dir` (empty when absent). */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const SOON = new Date(T0.getTime() + HOUR);
