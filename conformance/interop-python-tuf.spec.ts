/**
 * Interoperability with the TUF reference implementation: tufota's Updater refreshes from and
 * downloads targets of repositories made by python-tuf (`spec/vectors/python-tuf`, copied
 * from the reference's test data), over HTTP on 127.0.0.1 and through the FileFetcher, and handles python-tuf's
 * "fishy" role names (`../a`, `.`, `ö`) without ever turning one into a path.
 *
 * The vectors carry fixed expiry dates (2030-01-01 for `repository/`, 2050 for
 * `fishy_rolenames/`), so every Updater here pins its reference time with
 * `unsafeSetReferenceTime` to a date before them: the tests must not start failing when the
 * vectors expire.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pythonTufPath } from '../spec/helpers/vectors.js';
import type { Fetcher } from '../src/client/fetcher.js';
import { Updater } from '../src/client/updater.js';
import { FsMetadataStore } from '../src/storage/fs-metadata-store.js';
import { FileFetcher, HttpFetcher } from '../src/transport/index.js';

const VECTORS = pythonTufPath();
const REPOSITORY = join(VECTORS, 'repository');
const FISHY = join(VECTORS, 'fishy_rolenames');
/** Before every expiry in the vectors (the earliest is 2030-01-01T00:00:00Z). */
const REFERENCE_TIME = new Date('2029-06-01T00:00:00Z');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A static server over a map of raw (still percent-encoded) request paths, logging requests. */
async function serveFiles(
  files: Map<string, Uint8Array>,
): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').replace(/^\/+/, '');
    requests.push(path);
    const body = files.get(path);
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-length': String(body.byteLength) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests };
}

/** Every file under `dir`, keyed `prefix/<percent-encoded name>` as a web server would serve it. */
async function filesOf(dir: string, prefix: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await readdir(dir)) {
    files.set(
      `${prefix}/${encodeURIComponent(name)}`,
      new Uint8Array(await readFile(join(dir, name))),
    );
  }
  return files;
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Client {
  updater: Updater;
  metadataDir: string;
  targetDir: string;
}

async function client(
  fetcher: Fetcher,
  metadataBaseUrl: string,
  targetBaseUrl: string,
  trustedRoot: string,
): Promise<Client> {
  const metadataDir = await tempDir('tufota-interop-md-');
  const targetDir = await tempDir('tufota-interop-td-');
  await FsMetadataStore.init(metadataDir, new Uint8Array(await readFile(trustedRoot)), {
    overwrite: true,
  });
  const updater = await Updater.create({
    metadataBaseUrl,
    targetBaseUrl,
    targetDir,
    fetcher,
    metadataStore: new FsMetadataStore(metadataDir),
  });
  updater.unsafeSetReferenceTime(REFERENCE_TIME);
  return { updater, metadataDir, targetDir };
}

function httpFetcher(): HttpFetcher {
  const fetcher = new HttpFetcher({ retries: 0 });
  cleanups.push(() => fetcher.close());
  return fetcher;
}

describe('python-tuf repository', () => {
  async function overHttp() {
    const files = new Map([
      ...(await filesOf(join(REPOSITORY, 'metadata'), 'metadata')),
      ...(await filesOf(join(REPOSITORY, 'targets'), 'targets')),
    ]);
    const server = await serveFiles(files);
    const c = await client(
      httpFetcher(),
      `${server.url}metadata/`,
      `${server.url}targets/`,
      join(REPOSITORY, 'metadata', '1.root.json'),
    );
    return { ...c, server };
  }

  it('refreshes over HTTP, in the reference order, and caches the exact bytes', async () => {
    const { updater, metadataDir, server } = await overHttp();
    await updater.refresh();
    // consistent_snapshot is false in these vectors: plain names after the root chain.
    expect(server.requests).toEqual([
      'metadata/2.root.json',
      'metadata/timestamp.json',
      'metadata/snapshot.json',
      'metadata/targets.json',
    ]);
    expect((await readdir(metadataDir)).sort()).toEqual([
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
      expect(await readFile(join(metadataDir, `${role}.json`))).toEqual(
        await readFile(join(REPOSITORY, 'metadata', `${role}.json`)),
      );
    }
  });

  it('downloads top-level and delegated targets that verify against sha256 and sha512', async () => {
    const { updater, metadataDir, targetDir } = await overHttp();
    await updater.refresh();
    const file1 = await updater.getTargetInfo('file1.txt');
    expect(file1?.custom).toEqual({ file_permissions: '0644' });
    const file3 = await updater.getTargetInfo('file3.txt'); // listed by role1
    expect(file3?.length).toBe(28);
    for (const info of [file1, file3]) {
      const path = await updater.downloadTarget(info!);
      expect(await readFile(path)).toEqual(await readFile(join(REPOSITORY, 'targets', info!.path)));
    }
    expect((await readdir(targetDir)).sort()).toEqual(['file1.txt', 'file3.txt']);
    expect(await readFile(join(metadataDir, 'role1.json'))).toEqual(
      await readFile(join(REPOSITORY, 'metadata', 'role1.json')),
    );
  });

  it('does not find a target the reference repository does not list', async () => {
    const { updater } = await overHttp();
    expect(await updater.getTargetInfo('file4.txt')).toBeUndefined();
  });

  it('refreshes and downloads through the FileFetcher', async () => {
    const { updater } = await client(
      new FileFetcher({ root: REPOSITORY }),
      pathToFileURL(join(REPOSITORY, 'metadata')).href,
      pathToFileURL(join(REPOSITORY, 'targets')).href,
      join(REPOSITORY, 'metadata', '1.root.json'),
    );
    await updater.refresh();
    const path = await updater.downloadTarget((await updater.getTargetInfo('file2.txt'))!);
    expect(await readFile(path)).toEqual(await readFile(join(REPOSITORY, 'targets', 'file2.txt')));
  });

  it("uses python-tuf's client cache as its own: nothing is fetched again but the root probe and timestamp", async () => {
    const { updater, metadataDir, server } = await overHttp();
    const cache = join(VECTORS, 'client', 'test_repository1', 'metadata', 'current');
    for (const name of ['timestamp.json', 'snapshot.json', 'targets.json', 'role1.json']) {
      await writeFile(join(metadataDir, name), await readFile(join(cache, name)));
    }
    await updater.refresh();
    expect(await updater.getTargetInfo('file3.txt')).toBeDefined();
    expect(server.requests).toEqual(['metadata/2.root.json', 'metadata/timestamp.json']);
  });
});

describe('python-tuf fishy role names', () => {
  const fishyRoot = join(FISHY, 'metadata', '1.root.json');

  it('over HTTP, with each role published under its encoded name: all three roles load, stored encoded', async () => {
    // The vector keeps role "../a"'s metadata outside metadata/, as 1.a.json: the file an unsafe
    // client would reach. This server publishes it where a safe client asks for it, under the
    // percent-encoded role name.
    const files = await filesOf(join(FISHY, 'metadata'), 'metadata');
    files.set('metadata/1...%2Fa.json', new Uint8Array(await readFile(join(FISHY, '1.a.json'))));
    const server = await serveFiles(files);
    const { updater, metadataDir } = await client(
      httpFetcher(),
      `${server.url}metadata/`,
      `${server.url}targets/`,
      fishyRoot,
    );
    await updater.refresh();
    expect(await updater.getTargetInfo('anything')).toBeUndefined();
    expect(server.requests).toEqual([
      'metadata/2.root.json',
      'metadata/timestamp.json',
      'metadata/2.snapshot.json',
      'metadata/1.targets.json',
      'metadata/1...%2Fa.json',
      'metadata/1...json',
      'metadata/1.%C3%B6.json',
    ]);
    expect((await readdir(metadataDir)).sort()).toEqual(
      [
        '%C3%B6.json',
        '..%2Fa.json',
        '..json',
        'root.json',
        'snapshot.json',
        'targets.json',
        'timestamp.json',
      ].sort(),
    );
    // Nothing was written beside the metadata directory.
    expect(existsSync(join(metadataDir, '..', 'a.json'))).toBe(false);
  });

  it('through the FileFetcher over the vector as is: "../a" is not found instead of escaping to 1.a.json', async () => {
    const { updater, metadataDir } = await client(
      new FileFetcher({ root: FISHY }),
      pathToFileURL(join(FISHY, 'metadata')).href,
      pathToFileURL(join(FISHY, 'targets')).href,
      fishyRoot,
    );
    await updater.refresh();
    const error = await updater.getTargetInfo('anything').then(
      () => undefined,
      (e: unknown) => e as { code?: string; url?: string },
    );
    expect(error?.code).toBe('ERR_TUF_NOT_FOUND');
    expect(error?.url).toContain('1...%2Fa.json');
    expect((await readdir(metadataDir)).sort()).toEqual([
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
  });
});
