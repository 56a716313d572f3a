import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BaseFetcher, type OpenedResource, type OpenRequest } from '../../src/client/fetcher.js';
import { createUpdater, FsMetadataStore } from '../../src/client/index.js';
import { MemoryMetadataStore } from '../../src/client/memory-metadata-store.js';
import { metadataFileName } from '../../src/client/role-names.js';
import { TargetVerifier } from '../../src/client/target-verifier.js';
import { CLIENT_CHANNELS, Updater } from '../../src/client/updater.js';
import { InMemorySigner } from '../../src/crypto/index.js';
import { DownloadHttpError, NotFoundError } from '../../src/errors.js';
import { Key, MetaFile } from '../../src/models/index.js';
import { NOW, PAST, RepoBuilder } from './metadata-builder.js';

const META = 'https://repo.test/metadata/';
const TARGETS = 'https://repo.test/targets/';

/** A fetcher over a Map of URL → bytes; a missing URL is "not found". Records every request. */
class MemoryFetcher extends BaseFetcher {
  readonly files = new Map<string, Uint8Array>();
  readonly requests: string[] = [];
  readonly failures = new Map<string, Error>();

  protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
    this.requests.push(url);
    const failure = this.failures.get(url);
    if (failure !== undefined) throw failure;
    const data = this.files.get(url);
    if (data === undefined) throw new NotFoundError(`${url} not found`, { url });
    const offset = request.offset <= data.length ? request.offset : 0;
    const body = data.subarray(offset);
    return {
      body: (async function* () {
        yield body;
      })(),
      offset,
      declaredLength: body.length,
    };
  }

  /** Requests made since `from`, without the base URL. */
  since(from: number): string[] {
    return this.requests.slice(from).map((u) => u.replace(META, '').replace(TARGETS, 'T:'));
  }
}

let repo: RepoBuilder;
let fetcher: MemoryFetcher;
let store: MemoryMetadataStore;
let tempDir: string;

/** Sign the current repository state and serve it, consistent-snapshot style. */
async function publish(): Promise<void> {
  fetcher.files.set(`${META}${repo.root.version}.root.json`, await repo.rootBytes());
  fetcher.files.set(`${META}timestamp.json`, await repo.timestampBytes());
  fetcher.files.set(`${META}${repo.snapshot.version}.snapshot.json`, await repo.snapshotBytes());
  fetcher.files.set(`${META}${repo.targets.version}.targets.json`, await repo.targetsBytes());
  for (const [name, role] of repo.delegated) {
    fetcher.files.set(
      `${META}${metadataFileName(name, role.version)}`,
      await repo.delegatedBytes(name),
    );
  }
}

/** Bump snapshot (and timestamp) to list the current targets versions, then publish. */
async function release(): Promise<void> {
  repo.snapshot.version += 1;
  repo.snapshot.meta['targets.json'] = new MetaFile(repo.targets.version);
  for (const [name, role] of repo.delegated)
    repo.snapshot.meta[`${name}.json`] = new MetaFile(role.version);
  repo.timestamp.version += 1;
  repo.timestamp.snapshotMeta = new MetaFile(repo.snapshot.version);
  await publish();
}

async function newUpdater(config = {}): Promise<Updater> {
  const updater = await Updater.create({
    metadataBaseUrl: META,
    targetBaseUrl: TARGETS,
    targetDir: tempDir,
    fetcher,
    metadataStore: store,
    config,
  });
  updater.unsafeSetReferenceTime(NOW);
  return updater;
}

async function codeOfAsync(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `not a TufError: ${String(error)}`;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  repo = await RepoBuilder.create();
  fetcher = new MemoryFetcher();
  store = new MemoryMetadataStore();
  store.files.set('root', await repo.rootBytes());
  tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-updater-'));
  await publish();
});

afterEach(async () => {
  await fs.rm(tempDir, { recursive: true, force: true });
});

describe('Updater.create', () => {
  it('refuses a store without a trusted root, telling how to initialize it', async () => {
    const empty = new MemoryMetadataStore();
    await expect(
      Updater.create({ metadataBaseUrl: META, fetcher, metadataStore: empty }),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
      message: expect.stringContaining('init'),
    });
  });

  it('does no network access', async () => {
    await newUpdater();
    expect(fetcher.requests).toEqual([]);
  });

  it('refuses a stored root that is not signed by its own keys', async () => {
    store.files.set('root', await repo.rootBytes(repo.signersOf('targets')));
    expect(await codeOfAsync(newUpdater())).toBe('ERR_TUF_UNSIGNED');
  });
});

describe('Updater.refresh: order of requests and persistence', () => {
  it('fetches root N+1, timestamp, versioned snapshot and targets, and persists the exact bytes', async () => {
    const updater = await newUpdater();
    await updater.refresh();
    expect(fetcher.since(0)).toEqual([
      '2.root.json',
      'timestamp.json',
      '1.snapshot.json',
      '1.targets.json',
    ]);
    expect(store.files.get('timestamp')).toEqual(fetcher.files.get(`${META}timestamp.json`));
    expect(store.files.get('snapshot')).toEqual(fetcher.files.get(`${META}1.snapshot.json`));
    expect(store.files.get('targets')).toEqual(fetcher.files.get(`${META}1.targets.json`));
  });

  it('uses unversioned names without consistent snapshots', async () => {
    repo.root.consistentSnapshot = false;
    store.files.set('root', await repo.rootBytes());
    fetcher.files.set(`${META}snapshot.json`, await repo.snapshotBytes());
    fetcher.files.set(`${META}targets.json`, await repo.targetsBytes());
    const updater = await newUpdater();
    await updater.refresh();
    expect(fetcher.since(0)).toEqual([
      '2.root.json',
      'timestamp.json',
      'snapshot.json',
      'targets.json',
    ]);
  });

  it('on a second refresh uses the cached snapshot and targets when they are still current', async () => {
    const updater = await newUpdater();
    await updater.refresh();
    const mark = fetcher.requests.length;
    const again = await newUpdater();
    await again.refresh();
    expect(fetcher.since(mark)).toEqual(['2.root.json', 'timestamp.json']);
  });

  it('downloads a new snapshot and targets after a release', async () => {
    await (await newUpdater()).refresh();
    repo.targets.version = 2;
    await release();
    const mark = fetcher.requests.length;
    const updater = await newUpdater();
    await updater.refresh();
    expect(fetcher.since(mark)).toEqual([
      '2.root.json',
      'timestamp.json',
      '2.snapshot.json',
      '2.targets.json',
    ]);
    expect(updater.trustedSet.targets?.signed.version).toBe(2);
  });

  it('ignores a cached timestamp that fails verification', async () => {
    store.files.set('timestamp', new TextEncoder().encode('{"not": "metadata"}'));
    store.files.set('snapshot', await repo.timestampBytes()); // wrong role: ignored too
    const updater = await newUpdater();
    await updater.refresh();
    expect(updater.trustedSet.timestamp?.signed.version).toBe(1);
  });

  it('keeps an expired cached timestamp as the rollback floor', async () => {
    repo.timestamp.version = 5;
    repo.timestamp.expires = PAST;
    store.files.set('timestamp', await repo.timestampBytes());
    repo.timestamp.version = 4; // valid, not expired, but older than the cached one
    repo.timestamp.expires = new Date('2100-01-01T00:00:00Z');
    await publish();
    const updater = await newUpdater();
    expect(await codeOfAsync(updater.refresh())).toBe('ERR_TUF_BAD_VERSION');
  });

  it('keeps the trusted timestamp on an equal version and does not rewrite it', async () => {
    await (await newUpdater()).refresh();
    const cached = store.files.get('timestamp');
    repo.snapshot.expires = new Date('2099-01-01T00:00:00Z'); // other content, same timestamp version
    fetcher.files.set(`${META}timestamp.json`, await repo.timestampBytes());
    await (await newUpdater()).refresh();
    expect(store.files.get('timestamp')).toBe(cached);
  });

  it('refuses an expired remote timestamp (freeze attack) and does not persist it', async () => {
    repo.timestamp.expires = PAST;
    await publish();
    const updater = await newUpdater();
    expect(await codeOfAsync(updater.refresh())).toBe('ERR_TUF_EXPIRED');
    expect(store.files.has('timestamp')).toBe(false);
  });

  it('uses the reference time set for tests', async () => {
    const updater = await newUpdater();
    updater.unsafeSetReferenceTime(new Date('2200-01-01T00:00:00Z'));
    expect(await codeOfAsync(updater.refresh())).toBe('ERR_TUF_EXPIRED');
  });
});

describe('Updater.refresh: root chain', () => {
  it('walks every new root, persists the newest and reports each on the diagnostics channel', async () => {
    const messages: unknown[] = [];
    const onMessage = (message: unknown): void => {
      messages.push(message);
    };
    subscribe(CLIENT_CHANNELS.rootUpdated, onMessage);
    try {
      repo.root.version = 2;
      await publish();
      repo.root.version = 3;
      await publish();
      const updater = await newUpdater();
      await updater.refresh();
      expect(fetcher.since(0).slice(0, 3)).toEqual(['2.root.json', '3.root.json', '4.root.json']);
      expect(updater.trustedSet.root.signed.version).toBe(3);
      expect(store.files.get('root')).toEqual(fetcher.files.get(`${META}3.root.json`));
      expect(messages).toEqual([
        { version: 2, previousVersion: 1, rotatedRoles: [] },
        { version: 3, previousVersion: 2, rotatedRoles: [] },
      ]);
    } finally {
      unsubscribe(CLIENT_CHANNELS.rootUpdated, onMessage);
    }
  });

  it('fails on a download error other than not found instead of ending the chain', async () => {
    fetcher.failures.set(
      `${META}2.root.json`,
      new DownloadHttpError('500', { statusCode: 500, url: 'x' }),
    );
    const updater = await newUpdater();
    expect(await codeOfAsync(updater.refresh())).toBe('ERR_TUF_DOWNLOAD_HTTP');
  });

  it('stops after maxRootRotations roots', async () => {
    for (const version of [2, 3, 4]) {
      repo.root.version = version;
      await publish();
    }
    const updater = await newUpdater({ maxRootRotations: 2 });
    await updater.refresh();
    expect(updater.trustedSet.root.signed.version).toBe(3);
  });

  it('refuses a served root whose version is not N+1', async () => {
    repo.root.version = 3;
    fetcher.files.set(`${META}2.root.json`, await repo.rootBytes());
    const original = store.files.get('root');
    const updater = await newUpdater();
    expect(await codeOfAsync(updater.refresh())).toBe('ERR_TUF_BAD_VERSION');
    expect(store.files.get('root')).toBe(original);
    expect(updater.trustedSet.root.signed.version).toBe(1);
  });

  it('recovers from a fast-forward attack once the timestamp key is rotated (TUF 5.3.11)', async () => {
    // The attacker holds the timestamp key and pushes timestamp version 99999.
    repo.timestamp.version = 99999;
    await publish();
    await (await newUpdater()).refresh();
    // The repository rotates the timestamp key in root v2 and restarts at version 1.
    await repo.rotate('timestamp');
    repo.timestamp.version = 1;
    await publish();
    const updater = await newUpdater();
    await updater.refresh();
    expect(updater.trustedSet.timestamp?.signed.version).toBe(1);
    expect(store.files.get('timestamp')).toEqual(fetcher.files.get(`${META}timestamp.json`));
  });

  it('drops the cached timestamp on a timestamp key change even when it still verifies', async () => {
    repo.timestamp.version = 99999;
    await publish();
    await (await newUpdater()).refresh();
    // Root v2 adds a second timestamp key; the old key stays trusted, so the fast-forwarded
    // cached timestamp still verifies: only the explicit discard lets version 1 through.
    const extra = await InMemorySigner.generate('ed25519');
    repo.root.addKey(Key.fromPublicKeyData(extra.publicKey), 'timestamp');
    repo.root.version = 2;
    repo.timestamp.version = 1;
    await publish();
    const updater = await newUpdater();
    await updater.refresh();
    expect(updater.trustedSet.rolesToDiscard.has('timestamp')).toBe(true);
    expect(updater.trustedSet.timestamp?.signed.version).toBe(1);
  });

  it('without the rotation, the fast-forwarded timestamp blocks the lower version', async () => {
    repo.timestamp.version = 99999;
    await publish();
    await (await newUpdater()).refresh();
    repo.timestamp.version = 1;
    await publish();
    expect(await codeOfAsync((await newUpdater()).refresh())).toBe('ERR_TUF_BAD_VERSION');
  });
});

describe('Updater.getTargetInfo', () => {
  it('refreshes first when needed and finds a top-level target', async () => {
    repo.addTarget('targets', 'fw/a.img', new Uint8Array([1, 2, 3]));
    await publish();
    const updater = await newUpdater();
    const info = await updater.getTargetInfo('fw/a.img');
    expect(info?.length).toBe(3);
    expect(await updater.getTargetInfo('fw/missing.img')).toBeUndefined();
  });

  it('searches delegations pre-order, depth-first, in listed order', async () => {
    await repo.delegate('targets', 'a', { paths: ['fw/*'] });
    await repo.delegate('a', 'a1', { paths: ['fw/*'] });
    await repo.delegate('targets', 'b', { paths: ['fw/*'] });
    repo.addTarget('a1', 'fw/x.img', new Uint8Array([1]));
    repo.addTarget('b', 'fw/x.img', new Uint8Array([2, 2]));
    await publish();
    const updater = await newUpdater();
    await updater.refresh();
    const mark = fetcher.requests.length;
    const info = await updater.getTargetInfo('fw/x.img');
    expect(info?.length).toBe(1); // a1 (under a) comes before b
    expect(fetcher.since(mark)).toEqual(['1.a.json', '1.a1.json']);
  });

  it('does not search past a matching terminating delegation', async () => {
    await repo.delegate('targets', 'a', { paths: ['fw/*'], terminating: true });
    await repo.delegate('targets', 'b', { paths: ['fw/*'] });
    repo.addTarget('b', 'fw/x.img', new Uint8Array([2]));
    await publish();
    const updater = await newUpdater();
    expect(await updater.getTargetInfo('fw/x.img')).toBeUndefined();
    expect(fetcher.requests.some((u) => u.endsWith('1.b.json'))).toBe(false);
  });

  it('terminates on delegation cycles', async () => {
    const ka = await repo.delegate('targets', 'a');
    await repo.delegate('a', 'b');
    await repo.delegate('b', 'a', { signer: ka });
    await publish();
    const updater = await newUpdater();
    expect(await updater.getTargetInfo('missing')).toBeUndefined();
  });

  it('visits at most maxDelegations delegated roles', async () => {
    let parent = 'targets';
    for (let i = 0; i < 5; i++) {
      await repo.delegate(parent, `r${i}`);
      parent = `r${i}`;
    }
    repo.addTarget('r4', 'deep.bin', new Uint8Array([9]));
    await publish();
    expect(
      await (await newUpdater({ maxDelegations: 4 })).getTargetInfo('deep.bin'),
    ).toBeUndefined();
    expect(
      (await (await newUpdater({ maxDelegations: 5 })).getTargetInfo('deep.bin'))?.length,
    ).toBe(1);
  });

  it('verifies a role against the delegator of the path being followed', async () => {
    // a and b both delegate "shared"; only a's key signs it. Through a it is trusted; when the
    // search reaches it through b, it must be refused rather than reused.
    await repo.delegate('targets', 'a', { paths: ['fw/*'] });
    await repo.delegate('targets', 'b', { paths: ['fw/*', 'other/*'] });
    const ka = await repo.delegate('a', 'shared', { paths: ['fw/*'] });
    await repo.delegate('b', 'shared', { paths: ['other/*'] });
    repo.signers.set('shared', [ka]);
    repo.addTarget('shared', 'other/evil.bin', new Uint8Array([6, 6, 6]));
    await publish();
    const updater = await newUpdater();
    expect(await updater.getTargetInfo('fw/none.img')).toBeUndefined(); // shared trusted via a
    expect(await codeOfAsync(updater.getTargetInfo('other/evil.bin'))).toBe('ERR_TUF_UNSIGNED');
  });

  it('percent-encodes delegated role names in URLs and in the cache', async () => {
    await repo.delegate('targets', '../evil/ö', { paths: ['x/*'] });
    repo.addTarget('../evil/ö', 'x/y', new Uint8Array([1]));
    await publish();
    const updater = await newUpdater();
    expect((await updater.getTargetInfo('x/y'))?.length).toBe(1);
    expect(fetcher.requests).toContain(`${META}1...%2Fevil%2F%C3%B6.json`);
    expect(store.files.has('../evil/ö')).toBe(true);
  });
});

describe('Updater: targets', () => {
  const content = new TextEncoder().encode('firmware image bytes');

  it('downloads DIR/HASH.BASENAME, stores at targetDir/<encoded path>, and reuses a verified file', async () => {
    const target = repo.addTarget('targets', 'fw/a.img', content);
    await publish();
    const hash = target.hashes.sha256;
    fetcher.files.set(`${TARGETS}fw/${hash}.a.img`, content);
    const updater = await newUpdater();
    const info = await updater.getTargetInfo('fw/a.img');
    if (info === undefined) throw new Error('target not found');
    expect(await updater.findCachedTarget(info)).toBeUndefined();
    const file = await updater.downloadTarget(info);
    expect(file).toBe(path.join(tempDir, 'fw%2Fa.img'));
    expect(new Uint8Array(await fs.readFile(file))).toEqual(content);
    const mark = fetcher.requests.length;
    expect(await updater.downloadTarget(info)).toBe(file);
    expect(fetcher.requests.length).toBe(mark); // no second download
    expect(await updater.findCachedTarget(info)).toBe(file);
    expect((await fs.readdir(tempDir)).sort()).toEqual(['fw%2Fa.img']);
  });

  it('refuses a target whose bytes do not match and leaves no file behind', async () => {
    const target = repo.addTarget('targets', 'a.img', content);
    await publish();
    const tampered = content.slice();
    tampered[0] = 0;
    fetcher.files.set(`${TARGETS}${target.hashes.sha256}.a.img`, tampered);
    const updater = await newUpdater();
    const info = await updater.getTargetInfo('a.img');
    if (info === undefined) throw new Error('target not found');
    expect(await codeOfAsync(updater.downloadTarget(info))).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(await fs.readdir(tempDir)).toEqual([]);
  });

  it('caps a target download at its trusted length', async () => {
    const target = repo.addTarget('targets', 'a.img', content);
    await publish();
    fetcher.files.set(
      `${TARGETS}${target.hashes.sha256}.a.img`,
      new Uint8Array(content.length * 10),
    );
    const updater = await newUpdater();
    const info = await updater.getTargetInfo('a.img');
    if (info === undefined) throw new Error('target not found');
    expect(await codeOfAsync(updater.downloadTarget(info))).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
    expect(await fs.readdir(tempDir)).toEqual([]);
  });

  it('openTarget resumes from an offset; a verifier seeded with the prefix accepts the rest', async () => {
    const target = repo.addTarget('targets', 'a.img', content);
    await publish();
    fetcher.files.set(`${TARGETS}${target.hashes.sha256}.a.img`, content);
    const updater = await newUpdater();
    const info = await updater.getTargetInfo('a.img');
    if (info === undefined) throw new Error('target not found');
    const verifier = await TargetVerifier.fromPrefix(
      info,
      (async function* () {
        yield content.subarray(0, 5);
      })(),
    );
    const { offset, stream } = await updater.openTarget(info, { offset: 5 });
    expect(offset).toBe(5);
    for await (const chunk of stream) verifier.update(chunk);
    verifier.finish();
    expect(verifier.bytesSeen).toBe(content.length);
  });

  it('needs a target base URL and a destination', async () => {
    const target = repo.addTarget('targets', 'a.img', content);
    const updater = await Updater.create({ metadataBaseUrl: META, fetcher, metadataStore: store });
    expect(await codeOfAsync(updater.downloadTarget(target))).toBe('ERR_TUF_INVALID_STATE');
    expect(await codeOfAsync(updater.downloadTarget(target, path.join(tempDir, 'x')))).toBe(
      'ERR_TUF_INVALID_STATE',
    );
  });
});

describe('createUpdater', () => {
  it('wires an FsMetadataStore: refuses an uninitialized directory, loads an initialized one', async () => {
    const metadataDir = path.join(tempDir, 'metadata');
    await expect(createUpdater({ metadataDir, metadataBaseUrl: META })).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
    await FsMetadataStore.init(metadataDir, await repo.rootBytes());
    const updater = await createUpdater({ metadataDir, metadataBaseUrl: META, fetcher });
    updater.unsafeSetReferenceTime(NOW);
    await updater.refresh();
    expect(new Uint8Array(await fs.readFile(path.join(metadataDir, 'timestamp.json')))).toEqual(
      fetcher.files.get(`${META}timestamp.json`),
    );
  });
});
