/**
 * Test helpers for the repository specs: keys, a temporary repository directory, a loopback
 * static web server over it, and a judge of what is served: {@link Client} runs two independent
 * TUF clients — tuf-js 4 and tufota's own `Updater` — side by side, each with its own cache, and
 * fails the test whenever they disagree (one refuses what the other accepts, or they report a
 * different target, different bytes or a different trusted version).
 *
 * Not safe for concurrent use of one `Client` (each judgement reads and writes its caches).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Updater as TufJsUpdater } from 'tuf-js';
import { afterEach, beforeEach, expect } from 'vitest';
import { Updater } from '../../src/client/updater.js';
import { InMemorySigner } from '../../src/crypto/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { FsMetadataStore } from '../../src/storage/fs-metadata-store.js';
import { HttpFetcher } from '../../src/transport/http-fetcher.js';

export const T0 = new Date('2030-01-01T00:00:00Z');

export async function tempDir(prefix = 'tufota-repo-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function ed25519(n = 1): Promise<InMemorySigner[]> {
  return Promise.all(Array.from({ length: n }, () => InMemorySigner.generate('ed25519')));
}

/** A repository with one ed25519 key per top-level role. */
export async function createRepository(dir: string, now: () => Date = () => T0) {
  const [root, targets, snapshot, timestamp] = await ed25519(4);
  const storage = await FsRepositoryStorage.open(dir);
  const repo = await Repository.create(storage, {
    roles: {
      root: { keys: [root!] },
      targets: { keys: [targets!] },
      snapshot: { keys: [snapshot!] },
      timestamp: { keys: [timestamp!] },
    },
    now,
  });
  return {
    repo,
    storage,
    keys: { root: root!, targets: targets!, snapshot: snapshot!, timestamp: timestamp! },
  };
}

/** Serve `dir` over HTTP on 127.0.0.1 (port 0), as a static web root: percent-decoding, 404s. */
export async function serve(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    try {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = path.join(dir, pathname);
      if (!file.startsWith(dir + path.sep)) throw new Error('outside');
      const body = await readFile(file);
      res.writeHead(200, { 'content-length': body.byteLength });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * For each test of the calling `describe`: a fresh temporary directory served on loopback,
 * removed afterwards. Read `dir` and `url` inside tests (they change per test).
 */
export function useServedDir(): { readonly dir: string; readonly url: string } {
  const current = { dir: '', url: '' };
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  beforeEach(async () => {
    current.dir = await tempDir();
    server = await serve(current.dir);
    current.url = server.url;
  });
  afterEach(async () => {
    await server?.close();
    await removeDir(current.dir);
  });
  return current;
}

/** What a client says about a target: the fields a targets role signs, as plain data. */
export interface TargetView {
  path: string;
  length: number;
  hashes: Record<string, string>;
  /** The `custom` object verbatim; `undefined` when the entry has none. */
  custom: Record<string, unknown> | undefined;
}

/** The outcome of one client session: per requested path, its entry and (if asked) its bytes. */
interface SessionResult {
  info: TargetView | undefined;
  bytes?: Uint8Array;
}

/** One of the two judges: a fresh updater per session, over its own persistent cache. */
interface Judge {
  readonly name: string;
  readonly metadataDir: string;
  /** Refresh, look every path up, and download those found when `download` is set. */
  session(paths: readonly string[], download: boolean): Promise<SessionResult[]>;
  /** The version of `role` in the cache; `undefined` when the cache has no such file. */
  trusted(role: string): Promise<number | undefined>;
}

/** The metadata file names in a cache directory, sorted (temporary files left out). */
async function cachedFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
}

function versionOf(bytes: Uint8Array | undefined): number | undefined {
  if (bytes === undefined) return undefined;
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { signed: { version: number } };
  return parsed.signed.version;
}

class TufJsJudge implements Judge {
  readonly name = 'tuf-js';
  constructor(
    readonly metadataDir: string,
    readonly targetDir: string,
    private readonly baseUrl: string,
  ) {}

  updater(): TufJsUpdater {
    return new TufJsUpdater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: `${this.baseUrl}/metadata`,
      targetDir: this.targetDir,
      targetBaseUrl: `${this.baseUrl}/targets`,
      config: { fetchRetries: 0, fetchTimeout: 5000 },
    });
  }

  async session(paths: readonly string[], download: boolean): Promise<SessionResult[]> {
    const updater = this.updater();
    await updater.refresh();
    const results: SessionResult[] = [];
    for (const targetPath of paths) {
      const info = await updater.getTargetInfo(targetPath);
      if (info === undefined) {
        results.push({ info: undefined });
        continue;
      }
      const custom = info.unrecognizedFields.custom as Record<string, unknown> | undefined;
      const view = { path: info.path, length: info.length, hashes: { ...info.hashes }, custom };
      if (!download) {
        results.push({ info: view });
        continue;
      }
      const file = await updater.downloadTarget(
        info,
        path.join(this.targetDir, encodeURIComponent(info.path)),
      );
      results.push({ info: view, bytes: new Uint8Array(await readFile(file)) });
    }
    return results;
  }

  async trusted(role: string): Promise<number | undefined> {
    try {
      const file = path.join(this.metadataDir, `${encodeURIComponent(role)}.json`);
      return versionOf(new Uint8Array(await readFile(file)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}

class TufotaJudge implements Judge {
  readonly name = 'tufota';
  constructor(
    readonly metadataDir: string,
    readonly targetDir: string,
    private readonly baseUrl: string,
  ) {}

  async session(paths: readonly string[], download: boolean): Promise<SessionResult[]> {
    const fetcher = new HttpFetcher({ retries: 0, totalTimeoutMs: 10_000 });
    try {
      const updater = await Updater.create({
        metadataBaseUrl: `${this.baseUrl}/metadata`,
        targetBaseUrl: `${this.baseUrl}/targets`,
        targetDir: this.targetDir,
        fetcher,
        metadataStore: new FsMetadataStore(this.metadataDir),
      });
      await updater.refresh();
      const results: SessionResult[] = [];
      for (const targetPath of paths) {
        const info = await updater.getTargetInfo(targetPath);
        if (info === undefined) {
          results.push({ info: undefined });
          continue;
        }
        const view = {
          path: info.path,
          length: info.length,
          hashes: { ...info.hashes },
          custom: info.custom,
        };
        if (!download) {
          results.push({ info: view });
          continue;
        }
        const file = await updater.downloadTarget(info);
        results.push({ info: view, bytes: new Uint8Array(await readFile(file)) });
      }
      return results;
    } finally {
      await fetcher.close();
    }
  }

  async trusted(role: string): Promise<number | undefined> {
    return versionOf(await new FsMetadataStore(this.metadataDir).load(role));
  }
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return typeof code === 'string' ? `${message} [${code}]` : message;
}

/**
 * Run the same judgement with both clients and insist they agree. Both succeed: their results
 * must be deeply equal. Both fail: tufota's error is rethrown (it carries the stable `code` tests
 * assert on). Only one fails: that is a disagreement between two TUF clients, and the test fails
 * naming who refused what.
 */
async function agree<T>(
  what: string,
  tufjs: { name: string; run: Promise<T> },
  ours: { name: string; run: Promise<T> },
): Promise<T> {
  const [theirs, mine] = await Promise.allSettled([tufjs.run, ours.run]);
  if (theirs.status === 'fulfilled' && mine.status === 'fulfilled') {
    expect(mine.value, `${ours.name} and ${tufjs.name} disagree on ${what}`).toEqual(theirs.value);
    return mine.value;
  }
  if (theirs.status === 'rejected' && mine.status === 'rejected') throw mine.reason;
  const [failed, error, succeeded] =
    theirs.status === 'rejected'
      ? [tufjs.name, theirs.reason, ours.name]
      : [ours.name, (mine as PromiseRejectedResult).reason, tufjs.name];
  throw new Error(
    `TUF clients disagree on ${what}: ${failed} failed (${describeError(error)}) where ${succeeded} succeeded`,
    { cause: error },
  );
}

/**
 * Two independent TUF clients (tuf-js 4 and tufota's `Updater` over `HttpFetcher` and
 * `FsMetadataStore`), each with its own cache, both trusting `rootBytes`. Every judgement
 * (`lookup`, `download`, `trusted`) starts a fresh updater session on each side from its cache,
 * as a device would after a restart, and fails the test when the two disagree.
 */
export class Client {
  private constructor(
    /** The temporary directory holding both caches and both target directories. */
    readonly baseDir: string,
    readonly tufjs: TufJsJudge,
    readonly tufota: TufotaJudge,
  ) {}

  static async create(baseUrl: string, rootBytes: Uint8Array): Promise<Client> {
    const base = await tempDir('tufota-client-');
    const dirs = {
      tufjsMetadata: path.join(base, 'tuf-js', 'metadata'),
      tufjsTargets: path.join(base, 'tuf-js', 'targets'),
      tufotaMetadata: path.join(base, 'tufota', 'metadata'),
      tufotaTargets: path.join(base, 'tufota', 'targets'),
    };
    for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
    // tuf-js reads its trust anchor from METADATA_DIR/root.json.
    await writeFile(path.join(dirs.tufjsMetadata, 'root.json'), rootBytes);
    await FsMetadataStore.init(dirs.tufotaMetadata, rootBytes);
    return new Client(
      base,
      new TufJsJudge(dirs.tufjsMetadata, dirs.tufjsTargets, baseUrl),
      new TufotaJudge(dirs.tufotaMetadata, dirs.tufotaTargets, baseUrl),
    );
  }

  /** Delete both caches and downloaded targets. */
  async remove(): Promise<void> {
    await removeDir(this.baseDir);
  }

  async #session(
    what: string,
    paths: readonly string[],
    download: boolean,
  ): Promise<SessionResult[]> {
    // Bytes are compared as digests: a deep equality over megabytes of elements takes seconds.
    const digested = async (run: Promise<SessionResult[]>) =>
      (await run).map(({ info, bytes }) => ({
        info,
        sha256: bytes === undefined ? undefined : createHash('sha256').update(bytes).digest('hex'),
      }));
    let results: SessionResult[] = [];
    const keep = async (run: Promise<SessionResult[]>) => {
      results = await run;
      return digested(Promise.resolve(results));
    };
    await agree(
      what,
      { name: this.tufjs.name, run: digested(this.tufjs.session(paths, download)) },
      { name: this.tufota.name, run: keep(this.tufota.session(paths, download)) },
    );
    return results;
  }

  /** Both clients refresh (root chain, timestamp, snapshot, top-level targets). */
  async refresh(): Promise<void> {
    await this.#session('a refresh', [], false);
  }

  /** Both refresh and look the target up; returns the entry (undefined when no role lists it). */
  async lookup(targetPath: string): Promise<TargetView | undefined> {
    return (await this.lookupAll([targetPath]))[0];
  }

  /** Both refresh once, then look every path up; entries in `paths` order. */
  async lookupAll(paths: readonly string[]): Promise<Array<TargetView | undefined>> {
    const results = await this.#session(`the lookup of ${JSON.stringify(paths)}`, paths, false);
    return results.map((r) => r.info);
  }

  /** Both refresh, look up and download a target; returns its (identical) bytes. */
  async download(targetPath: string): Promise<Uint8Array> {
    return (await this.downloadAll([targetPath]))[0] as Uint8Array;
  }

  /**
   * Both refresh once, then look up and download every path; returns the bytes in `paths`
   * order. Throws when a path is not listed (the clients must agree on that first).
   */
  async downloadAll(paths: readonly string[]): Promise<Uint8Array[]> {
    const results = await this.#session(`the download of ${JSON.stringify(paths)}`, paths, true);
    return results.map((r, i) => {
      if (r.bytes === undefined) throw new Error(`neither client found target ${paths[i]}`);
      return r.bytes;
    });
  }

  /**
   * The metadata files each client has cached (both must hold the same set): which roles the
   * two delegation searches actually loaded.
   */
  async cachedFiles(): Promise<string[]> {
    return agree(
      'the cached metadata files',
      { name: this.tufjs.name, run: cachedFiles(this.tufjs.metadataDir) },
      { name: this.tufota.name, run: cachedFiles(this.tufota.metadataDir) },
    );
  }

  /** The version of a role in the clients' caches (both must hold the same). */
  async trusted(role: string): Promise<number> {
    const version = await agree(
      `the cached version of ${role}`,
      { name: this.tufjs.name, run: this.tufjs.trusted(role) },
      { name: this.tufota.name, run: this.tufota.trusted(role) },
    );
    if (version === undefined) throw new Error(`neither client has ${role} in its cache`);
    return version;
  }
}
