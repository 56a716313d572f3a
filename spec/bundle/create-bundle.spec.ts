import { execFileSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE_MANIFEST_NAME, createBundle } from '../../src/bundle/index.js';
import { readTarIndex } from '../../src/bundle/tar.js';
import {
  applyReferenceTimePolicy,
  REFERENCE_TIME_CHANNEL,
  type ReferenceTimeDecision,
} from '../../src/client/reference-time-policy.js';
import { TargetVerifier } from '../../src/client/target-verifier.js';
import { BundleFetcher } from '../../src/transport/bundle-fetcher.js';
import {
  APP,
  appBytes,
  DAY,
  FIRMWARE,
  filesIn,
  firmwareBytes,
  makeDevice,
  makeRepository,
  removeDir,
  SOON,
  T0,
  tempDir,
} from './helpers.js';

let dir: string;
let repoDir: string;
let bundle: string;
let repo: Awaited<ReturnType<typeof makeRepository>>;
const fetchers: BundleFetcher[] = [];

beforeEach(async () => {
  dir = await tempDir('tufota-bundle-');
  repoDir = path.join(dir, 'repo');
  repo = await makeRepository(repoDir);
  bundle = path.join(dir, 'update.tar');
});
afterEach(async () => {
  for (const f of fetchers.splice(0)) await f.close();
  await removeDir(dir);
});

async function fetcherFor(file = bundle): Promise<BundleFetcher> {
  const fetcher = await BundleFetcher.create({ path: file });
  fetchers.push(fetcher);
  return fetcher;
}

async function make(options: { fromRootVersion?: number } = {}) {
  return createBundle({
    repositoryDir: repoDir,
    targets: [FIRMWARE, APP],
    output: bundle,
    createdAt: T0,
    repositoryName: 'fleet-a',
    ...options,
  });
}

/** Overwrite bytes of the member `name` inside the bundle, at `at` within its data. */
async function tamper(name: string, edit: (data: Uint8Array) => void): Promise<void> {
  const handle = await open(bundle, 'r+');
  try {
    const entry = (await readTarIndex(handle)).byName.get(name);
    if (entry === undefined) throw new Error(`no member ${name}`);
    const data = new Uint8Array(entry.size);
    await handle.read(data, 0, entry.size, entry.offset);
    edit(data);
    await handle.write(data, 0, data.byteLength, entry.offset);
  } finally {
    await handle.close();
  }
}

function replaceText(data: Uint8Array, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const text = Buffer.from(data).toString('latin1');
  const at = text.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  data.set(Buffer.from(to, 'latin1'), at);
}

describe('createBundle + BundleFetcher: install offline exactly as online', () => {
  it('a device still trusting root v1 rotates through the bundled chain to v3 and installs both targets', async () => {
    const summary = await make();
    expect(summary.rootVersions).toEqual({ from: 1, to: 3 });
    expect(summary.metadata.slice(0, 4)).toEqual([
      'metadata/1.root.json',
      'metadata/2.root.json',
      'metadata/3.root.json',
      'metadata/timestamp.json',
    ]);
    expect(summary.expires).toEqual(new Date(T0.getTime() + DAY)); // the timestamp's
    expect(summary.size).toBe((await stat(bundle)).size);

    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    await device.updater.refresh();
    expect(device.updater.trustedSet.root.signed.version).toBe(3);
    const firmware = await device.updater.getTargetInfo(FIRMWARE);
    const app = await device.updater.getTargetInfo(APP); // through the delegated role
    expect(firmware?.custom).toMatchObject({ hardwareIds: ['board-a'] });
    expect(new Uint8Array(await readFile(await device.updater.downloadTarget(firmware!)))).toEqual(
      firmwareBytes,
    );
    expect(new Uint8Array(await readFile(await device.updater.downloadTarget(app!)))).toEqual(
      appBytes,
    );
    expect(await filesIn(device.metadataDir)).toEqual([
      'apps.json',
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
  });

  it('streams a target from the bundle with a resume offset, as the agent writes a slot', async () => {
    await make();
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    const info = (await device.updater.getTargetInfo(FIRMWARE))!;
    const prefix = firmwareBytes.subarray(0, 70_000);
    const verifier = await TargetVerifier.fromPrefix(
      info,
      (async function* () {
        yield prefix;
      })(),
    );
    const { offset, stream } = await device.updater.openTarget(info, { offset: prefix.byteLength });
    expect(offset).toBe(70_000);
    for await (const chunk of stream) verifier.update(chunk);
    expect(() => verifier.finish()).not.toThrow();
  });

  it('puts the informational manifest first, and `tar -tf` lists the bundle', async () => {
    const summary = await make();
    const listed = execFileSync('tar', ['-tf', bundle], { encoding: 'utf8' }).trim().split('\n');
    expect(listed[0]).toBe(BUNDLE_MANIFEST_NAME);
    expect(listed).toEqual([
      BUNDLE_MANIFEST_NAME,
      ...summary.metadata,
      ...summary.targets.map((t) => t.name),
    ]);
    expect(listed.filter((name) => /^metadata\/\d+\.apps\.json$/.test(name))).toHaveLength(1);
    const manifest = (await (await fetcherFor()).readManifest()) as {
      targets: Array<{ path: string; hashes: { sha256: string } }>;
    };
    // Served names: DIR/HASH.NAME with the first listed hash, as the client requests them.
    expect(summary.targets.map((t) => t.name)).toEqual(
      manifest.targets.map((t) => {
        const slash = t.path.lastIndexOf('/');
        return `targets/${t.path.slice(0, slash + 1)}${t.hashes.sha256}.${t.path.slice(slash + 1)}`;
      }),
    );
    expect(manifest).toMatchObject({
      format: 'tufota-bundle',
      formatVersion: 1,
      createdAt: T0.toISOString(),
      repository: 'fleet-a',
      rootVersions: { from: 1, to: 3 },
    });
  });

  it('with --from-root-version 2 leaves out older roots', async () => {
    const summary = await make({ fromRootVersion: 2 });
    expect(summary.metadata.filter((m) => m.includes('root'))).toEqual([
      'metadata/2.root.json',
      'metadata/3.root.json',
    ]);
    const v2 = new Uint8Array(await readFile(path.join(repoDir, 'metadata', '2.root.json')));
    const device = await makeDevice(path.join(dir, 'device'), v2, await fetcherFor());
    await device.updater.refresh();
    expect(device.updater.trustedSet.root.signed.version).toBe(3);
  });
});

describe('a damaged or tampered bundle installs nothing', () => {
  it('a truncated bundle (cut at several offsets) is refused before anything is trusted', async () => {
    const summary = await make();
    const whole = new Uint8Array(await readFile(bundle));
    const cuts = [
      0,
      100,
      512,
      1536,
      4000,
      Math.floor(summary.size / 2),
      summary.size - 1024,
      summary.size - 1,
    ];
    for (const cut of cuts) {
      const file = path.join(dir, `cut-${cut}.tar`);
      await writeFile(file, whole.subarray(0, cut));
      await expect(BundleFetcher.create({ path: file }), `cut at ${cut}`).rejects.toMatchObject({
        name: 'FormatError',
        code: 'ERR_TUF_FORMAT',
      });
    }
  });

  it('a bundle truncated after it was opened fails the download with a DownloadError; nothing installed', async () => {
    await make();
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    const info = (await device.updater.getTargetInfo(FIRMWARE))!;
    await truncate(bundle, (await stat(bundle)).size - 200_000); // the medium "lost" the tail
    await expect(device.updater.downloadTarget(info)).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD',
    });
    expect(await filesIn(device.targetDir)).toEqual([]);
  });

  it('a tampered image → LengthOrHashMismatchError, nothing installed', async () => {
    const summary = await make();
    await tamper(summary.targets[0]!.name, (data) => {
      data[12_345] = (data[12_345]! + 1) % 256;
    });
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    const info = (await device.updater.getTargetInfo(FIRMWARE))!;
    await expect(device.updater.downloadTarget(info)).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    expect(await filesIn(device.targetDir)).toEqual([]);
  });

  it('a tampered timestamp → UnsignedMetadataError; the timestamp is not cached', async () => {
    await make();
    await tamper('metadata/timestamp.json', (data) =>
      replaceText(data, '"version":', '"versioN":'),
    );
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    await expect(device.updater.refresh()).rejects.toMatchObject({ code: 'ERR_TUF_FORMAT' });
    await tamper('metadata/timestamp.json', (data) =>
      replaceText(data, '"versioN":', '"version":'),
    );
    await tamper('metadata/timestamp.json', (data) =>
      replaceText(data, `${T0.getUTCFullYear()}-01-02`, `${T0.getUTCFullYear()}-01-03`),
    );
    await expect(device.updater.refresh()).rejects.toMatchObject({ code: 'ERR_TUF_UNSIGNED' });
    expect(await filesIn(device.metadataDir)).toEqual(['root.json']);
  });

  it('a tampered root in the chain → UnsignedMetadataError; the device keeps root v1', async () => {
    await make();
    await tamper('metadata/2.root.json', (data) =>
      replaceText(
        data,
        `"expires":"${T0.getUTCFullYear() + 1}`,
        `"expires":"${T0.getUTCFullYear() + 2}`,
      ),
    );
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    await expect(device.updater.refresh()).rejects.toMatchObject({ code: 'ERR_TUF_UNSIGNED' });
    expect(new Uint8Array(await readFile(path.join(device.metadataDir, 'root.json')))).toEqual(
      repo.rootV1,
    );
  });
});

describe('expired metadata in a bundle: strict by default, grace only when named and reported', () => {
  const LATE = new Date(T0.getTime() + 3 * DAY); // timestamp (1 day) expired 2 days ago

  it('is refused under the strict default', async () => {
    await make();
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    const decision = applyReferenceTimePolicy(device.updater, undefined, { clock: LATE });
    expect(decision).toMatchObject({ policy: 'strict', adjusted: false, graceMs: 0 });
    await expect(device.updater.refresh()).rejects.toMatchObject({
      code: 'ERR_TUF_EXPIRED',
      role: 'timestamp',
    });
  });

  it('is accepted under no-rtc-grace with a wide enough window, and the grace is reported', async () => {
    await make();
    const seen: ReferenceTimeDecision[] = [];
    const listener = (message: unknown) => seen.push(message as ReferenceTimeDecision);
    subscribe(REFERENCE_TIME_CHANNEL, listener);
    try {
      const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
      const narrow = applyReferenceTimePolicy(
        device.updater,
        { name: 'no-rtc-grace', maxExpiredBy: DAY },
        { clock: LATE },
      );
      await expect(device.updater.refresh()).rejects.toMatchObject({ code: 'ERR_TUF_EXPIRED' });
      const wide = applyReferenceTimePolicy(
        device.updater,
        { name: 'no-rtc-grace', maxExpiredBy: 7 * DAY },
        { clock: LATE },
      );
      await device.updater.refresh();
      const info = await device.updater.getTargetInfo(FIRMWARE);
      expect(new Uint8Array(await readFile(await device.updater.downloadTarget(info!)))).toEqual(
        firmwareBytes,
      );
      expect(seen).toEqual([narrow, wide]);
      expect(wide).toMatchObject({ policy: 'no-rtc-grace', graceMs: 7 * DAY, adjusted: true });
      expect(wide.referenceTime).toEqual(new Date(LATE.getTime() - 7 * DAY));
      expect(wide.summary).toMatch(/ACCEPTED \(grace\)/);
    } finally {
      unsubscribe(REFERENCE_TIME_CHANNEL, listener);
    }
  });

  it('a device whose clock reads 1970 is held to its last known time: still refused when strict', async () => {
    await make();
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    const decision = applyReferenceTimePolicy(device.updater, undefined, {
      clock: new Date(0),
      lastKnownTime: LATE,
    });
    expect(decision).toMatchObject({ clockRaised: true, adjusted: true });
    expect(decision.referenceTime).toEqual(LATE);
    await expect(device.updater.refresh()).rejects.toMatchObject({ code: 'ERR_TUF_EXPIRED' });
  });

  it('the strict default accepts a fresh bundle', async () => {
    await make();
    const device = await makeDevice(path.join(dir, 'device'), repo.rootV1, await fetcherFor());
    applyReferenceTimePolicy(device.updater, undefined, { clock: SOON });
    await device.updater.refresh();
    expect(device.updater.trustedSet.timestamp?.signed.version).toBeGreaterThan(0);
  });
});

describe('createBundle refuses to write a bundle a device would refuse', () => {
  it('an unknown target → TargetNotFoundError, no output', async () => {
    await expect(
      createBundle({
        repositoryDir: repoDir,
        targets: ['nope.img'],
        output: bundle,
        createdAt: T0,
      }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_TARGET_NOT_FOUND' });
    expect(await filesIn(dir)).toEqual(['repo']);
  });

  it('expired repository metadata → ExpiredMetadataError, no output', async () => {
    await expect(
      createBundle({
        repositoryDir: repoDir,
        targets: [FIRMWARE],
        output: bundle,
        createdAt: new Date(T0.getTime() + 2 * DAY),
      }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_EXPIRED' });
    expect(await filesIn(dir)).toEqual(['repo']);
  });

  it('a target file that no longer matches its metadata → LengthOrHashMismatchError, no output or temp file', async () => {
    const summary = await make();
    const file = path.join(repoDir, ...summary.targets[0]!.name.split('/'));
    const bytes = new Uint8Array(await readFile(file));
    bytes[199_999] = (bytes[199_999] as number) ^ 1;
    await writeFile(file, bytes);
    const other = path.join(dir, 'other.tar');
    await expect(
      createBundle({ repositoryDir: repoDir, targets: [FIRMWARE], output: other, createdAt: T0 }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH' });
    expect(await filesIn(dir)).toEqual(['repo', 'update.tar']);
  });

  it('a missing trust anchor version and bad options → InvalidStateError', async () => {
    await expect(make({ fromRootVersion: 9 })).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
    await expect(make({ fromRootVersion: 0 })).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
    await expect(
      createBundle({ repositoryDir: repoDir, targets: [], output: bundle }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_INVALID_STATE' });
  });
});
