/**
 * Test helpers for the repository specs: keys, a temporary repository directory, a loopback
 * static web server over it, and an independent TUF client (tuf-js) that judges what is served.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Updater } from 'tuf-js';
import { InMemorySigner } from '../../src/crypto/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';

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

/** A tuf-js client with its own cache, trusting `rootBytes`. */
export class Client {
  private constructor(
    readonly metadataDir: string,
    readonly targetDir: string,
    private readonly baseUrl: string,
  ) {}

  static async create(baseUrl: string, rootBytes: Uint8Array): Promise<Client> {
    const base = await tempDir('tufota-client-');
    const metadataDir = path.join(base, 'metadata');
    const targetDir = path.join(base, 'targets');
    await mkdir(metadataDir, { recursive: true });
    await mkdir(targetDir, { recursive: true });
    await writeFile(path.join(metadataDir, 'root.json'), rootBytes);
    return new Client(metadataDir, targetDir, baseUrl);
  }

  updater(): Updater {
    return new Updater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: `${this.baseUrl}/metadata`,
      targetDir: this.targetDir,
      targetBaseUrl: `${this.baseUrl}/targets`,
      config: { fetchRetries: 0, fetchTimeout: 5000 },
    });
  }

  /** Refresh and return the target's info (undefined when no role lists it). */
  async lookup(targetPath: string) {
    const updater = this.updater();
    await updater.refresh();
    return updater.getTargetInfo(targetPath);
  }

  /** Refresh, look up and download a target; returns its bytes. */
  async download(targetPath: string): Promise<Uint8Array> {
    const updater = this.updater();
    await updater.refresh();
    const info = await updater.getTargetInfo(targetPath);
    if (info === undefined) throw new Error(`client found no target ${targetPath}`);
    const file = await updater.downloadTarget(
      info,
      path.join(this.targetDir, info.path.replaceAll('/', '_')),
    );
    return new Uint8Array(await readFile(file));
  }

  /** The version of a role in the client's cache. */
  async trusted(role: string): Promise<number> {
    const bytes = await readFile(path.join(this.metadataDir, `${role}.json`));
    return (JSON.parse(bytes.toString('utf8')) as { signed: { version: number } }).signed.version;
  }
}
