/**
 * Benchmark of the repository library at fleet scale: 100,000 small targets in 1,024 succinct
 * hash bins (TAP 15), published to a local directory; then 100 more targets and a second
 * publish, which must re-sign and rewrite only the bins those targets fall in.
 *
 * Targets are added from metadata (length + hashes, the bulk-import path; hashing 100,000 tiny
 * files would measure the filesystem, not the repository), signed with node:crypto ed25519.
 * Reports wall times in milliseconds, files written, and peak RSS (MiB) of the process
 * (`peak-rss.ts`; `npm run bench` runs each benchmark in a process of its own). Not a test: timings depend on the machine and its disk.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Repository } from '../src/repository/index.js';
import { createBinnedRepository, listedTarget } from './fleet-repository.js';
import { peakRssMiB } from './peak-rss.js';

const INITIAL_TARGETS = 100_000;
const MORE_TARGETS = 100;
const BIT_LENGTH = 10;

/** Run the benchmark once and return its figures. */
export async function benchRepository(): Promise<Record<string, number | string>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tufota-bench-repo-'));
  try {
    const { repo, storage } = await createBinnedRepository(dir, BIT_LENGTH);

    const t0 = performance.now();
    for (let i = 0; i < INITIAL_TARGETS; i++) {
      const t = listedTarget(i);
      repo.addTargetInfo(t.path, t);
    }
    const t1 = performance.now();
    const first = await repo.publish();
    const t2 = performance.now();
    const rssAfterFirst = peakRssMiB();

    const t3 = performance.now();
    for (let i = INITIAL_TARGETS; i < INITIAL_TARGETS + MORE_TARGETS; i++) {
      const t = listedTarget(i);
      repo.addTargetInfo(t.path, t);
    }
    const second = await repo.publish();
    const t4 = performance.now();

    const t5 = performance.now();
    const reopened = await Repository.open(storage);
    const t6 = performance.now();

    return {
      targets: INITIAL_TARGETS,
      bins: 2 ** BIT_LENGTH,
      addTargetsMs: Math.round(t1 - t0),
      firstPublishMs: Math.round(t2 - t1),
      firstTotalMs: Math.round(t2 - t0),
      firstFilesWritten: first.written.length,
      secondAddAndPublishMs: Math.round(t4 - t3),
      secondFilesWritten: second.written.length,
      secondBinsRewritten: second.roles.filter((r) => r.role.startsWith('bins-')).length,
      reopenMs: Math.round(t6 - t5),
      reopenedRoles: reopened.targetsRoleNames().length,
      peakRssMiBAfterFirstPublish: Math.round(rssAfterFirst),
      peakRssMiB: Math.round(peakRssMiB()),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
