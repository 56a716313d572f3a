import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccessLogEntry,
  CACHE_IMMUTABLE,
  CACHE_REVALIDATE,
  createStaticServer,
  parseRange,
  resolveRequestPath,
  type StaticServer,
} from '../../src/server/index.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request: the path is sent exactly as given (no client-side normalization). */
function send(
  server: StaticServer,
  rawPath: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: rawPath,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const HASH = 'a'.repeat(64);
const TARGET = Buffer.from('0123456789abcdefghij'); // 20 bytes

describe('createStaticServer', () => {
  let base: string;
  let root: string;
  let server: StaticServer;

  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tufota-server-'));
    root = path.join(base, 'repo');
    await mkdir(path.join(root, 'metadata'), { recursive: true });
    await mkdir(path.join(root, 'targets', 'fw'), { recursive: true });
    await mkdir(path.join(root, '.tufota'), { recursive: true });
    await writeFile(path.join(root, 'metadata', 'timestamp.json'), '{"ts":1}');
    await writeFile(path.join(root, 'metadata', 'root.json'), '{"root":1}');
    await writeFile(path.join(root, 'metadata', '3.snapshot.json'), '{"snapshot":3}');
    await writeFile(path.join(root, 'targets', 'fw', `${HASH}.img`), TARGET);
    await writeFile(path.join(root, 'targets', 'fw', 'empty.bin'), '');
    await writeFile(path.join(root, '.tufota', 'config.json'), '{"secret":true}');
    await writeFile(path.join(base, 'outside.txt'), 'outside the root');
    await symlink(path.join(base, 'outside.txt'), path.join(root, 'targets', 'escape.txt'));
    await symlink(
      path.join(root, 'metadata', 'root.json'),
      path.join(root, 'metadata', 'link.json'),
    );
    server = await createStaticServer({ root });
  });
  afterAll(async () => {
    await server.close();
    await rm(base, { recursive: true, force: true });
  });

  it('listens on loopback and serves a file with exact Content-Length, type and a strong ETag', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const reply = await send(server, `/targets/fw/${HASH}.img`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(TARGET);
    expect(reply.headers['content-length']).toBe('20');
    expect(reply.headers['content-type']).toBe('application/octet-stream');
    expect(reply.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    expect(reply.headers['accept-ranges']).toBe('bytes');
  });

  it('answers If-None-Match with 304 and no body, and 200 for another tag', async () => {
    const first = await send(server, '/metadata/timestamp.json');
    const etag = first.headers.etag as string;
    const again = await send(server, '/metadata/timestamp.json', {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    expect(again.headers.etag).toBe(etag);
    const list = await send(server, '/metadata/timestamp.json', {
      headers: { 'if-none-match': `"nope", W/${etag}` },
    });
    expect(list.status).toBe(304);
    const other = await send(server, '/metadata/timestamp.json', {
      headers: { 'if-none-match': '"other"' },
    });
    expect(other.status).toBe(200);
    expect(other.body.toString()).toBe('{"ts":1}');
  });

  it('changes the ETag when the file is replaced', async () => {
    const file = path.join(root, 'metadata', 'timestamp.json');
    const before = (await send(server, '/metadata/timestamp.json')).headers.etag;
    await writeFile(`${file}.tmp`, '{"ts":22}');
    await (await import('node:fs/promises')).rename(`${file}.tmp`, file);
    const after = await send(server, '/metadata/timestamp.json', {
      headers: { 'if-none-match': before as string },
    });
    expect(after.status).toBe(200);
    expect(after.body.toString()).toBe('{"ts":22}');
  });

  it.each([
    ['bytes=5-', 206, '5-19/20', TARGET.subarray(5)],
    ['bytes=2-4', 206, '2-4/20', TARGET.subarray(2, 5)],
    ['bytes=15-100', 206, '15-19/20', TARGET.subarray(15)],
    ['bytes=-3', 206, '17-19/20', TARGET.subarray(17)],
  ])('Range %s → %d with Content-Range %s', async (range, status, contentRange, body) => {
    const reply = await send(server, `/targets/fw/${HASH}.img`, { headers: { range } });
    expect(reply.status).toBe(status);
    expect(reply.headers['content-range']).toBe(`bytes ${contentRange}`);
    expect(reply.headers['content-length']).toBe(String(body.byteLength));
    expect(reply.body).toEqual(body);
  });

  it('answers an unsatisfiable Range with 416 and the size', async () => {
    for (const range of ['bytes=20-', 'bytes=99-120', 'bytes=-0']) {
      const reply = await send(server, `/targets/fw/${HASH}.img`, { headers: { range } });
      expect(reply.status).toBe(416);
      expect(reply.headers['content-range']).toBe('bytes */20');
    }
    const empty = await send(server, '/targets/fw/empty.bin', { headers: { range: 'bytes=0-' } });
    expect(empty.status).toBe(416);
  });

  it('serves the whole file for multiple or malformed ranges, and for a stale If-Range', async () => {
    const cases: Record<string, string>[] = [
      { range: 'bytes=0-1,3-4' },
      { range: 'items=0-1' },
      { range: 'bytes=5-2' },
      { range: 'bytes=2-', 'if-range': '"stale"' },
    ];
    for (const headers of cases) {
      const reply = await send(server, `/targets/fw/${HASH}.img`, { headers });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(TARGET);
    }
  });

  it('sets no-cache on timestamp.json and root.json, immutable on versioned and hashed files', async () => {
    expect((await send(server, '/metadata/timestamp.json')).headers['cache-control']).toBe(
      CACHE_REVALIDATE,
    );
    expect((await send(server, '/metadata/root.json')).headers['cache-control']).toBe(
      CACHE_REVALIDATE,
    );
    expect((await send(server, '/metadata/3.snapshot.json')).headers['cache-control']).toBe(
      CACHE_IMMUTABLE,
    );
    expect((await send(server, `/targets/fw/${HASH}.img`)).headers['cache-control']).toBe(
      CACHE_IMMUTABLE,
    );
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const reply = await send(server, `/targets/fw/${HASH}.img`, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('20');
    expect(reply.body.byteLength).toBe(0);
  });

  it('refuses methods other than GET and HEAD with 405 and Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const reply = await send(server, '/metadata/timestamp.json', { method });
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    }
  });

  it.each([
    ['/../outside.txt', 400],
    ['/metadata/../../outside.txt', 400],
    ['/%2e%2e/outside.txt', 400],
    ['/metadata/%2E%2E/%2e%2e/outside.txt', 400],
    ['/metadata%2f..%2f..%2foutside.txt', 400],
    ['/metadata/..%5c..%5coutside.txt', 400],
    ['/metadata/root.json%00.png', 400],
    ['/metadata/%E0%A4%A', 400],
    ['/targets/escape.txt', 404],
    ['/.tufota/config.json', 404],
    ['/%2etufota/config.json', 404],
    ['/metadata/', 404],
    ['/metadata', 404],
    ['/', 404],
    ['/metadata//root.json', 404],
    ['/metadata/missing.json', 404],
  ])('refuses %s with %d', async (rawPath, status) => {
    const reply = await send(server, rawPath);
    expect(reply.status).toBe(status);
    expect(reply.body.toString()).not.toContain('outside the root');
    expect(reply.body.toString()).not.toContain('secret');
  });

  it('follows a symbolic link that stays inside the root', async () => {
    const reply = await send(server, '/metadata/link.json');
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('{"root":1}');
  });

  it('ignores the query string', async () => {
    const reply = await send(server, '/metadata/3.snapshot.json?x=../../etc/passwd');
    expect(reply.status).toBe(200);
  });

  it('refuses a root that is not a directory and an out-of-range port', async () => {
    await expect(
      createStaticServer({ root: path.join(base, 'outside.txt') }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_INVALID_STATE' });
    await expect(createStaticServer({ root, port: 70000 })).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });
});

describe('static server rules as tables', () => {
  it('parseRange', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=9999999999999999-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-', 10)).toBeUndefined();
  });

  it('resolveRequestPath decodes segments and refuses traversal', () => {
    expect(resolveRequestPath('/targets/a%20b.img')).toEqual(['targets', 'a b.img']);
    expect(resolveRequestPath('/a/%2e%2e/b')).toMatchObject({ status: 400 });
    expect(resolveRequestPath(`/${'a'.repeat(9000)}`)).toMatchObject({ status: 414 });
    expect(resolveRequestPath('relative')).toMatchObject({ status: 400 });
  });
});

describe('createStaticServer onResponse (access log)', () => {
  let root: string;
  let server: StaticServer;
  const entries: AccessLogEntry[] = [];
  const big = 32 * 1024 * 1024;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tufota-server-log-'));
    await mkdir(path.join(root, 'targets'));
    await writeFile(path.join(root, 'targets', 'small.bin'), 'x'.repeat(1000));
    await writeFile(path.join(root, 'targets', 'big.bin'), Buffer.alloc(big));
    server = await createStaticServer({
      root,
      onResponse: (entry) => {
        entries.push(entry);
        throw new Error('a failing logger never breaks serving');
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  /** Wait for the entry of `n` requests (bounded by the test timeout). */
  async function entry(n: number) {
    while (entries.length < n) await new Promise((r) => setTimeout(r, 10));
    return entries[n - 1];
  }

  it('reports method, raw path, status and body bytes once per request', async () => {
    const reply = await send(server, '/targets/small.bin?x=1');
    expect(reply.status).toBe(200);
    expect(await entry(1)).toMatchObject({
      method: 'GET',
      path: '/targets/small.bin?x=1',
      status: 200,
      bytes: 1000,
      remoteAddress: '127.0.0.1',
    });
    await send(server, '/targets/small.bin', { method: 'HEAD' });
    expect(await entry(2)).toMatchObject({ method: 'HEAD', status: 200, bytes: 0 });
    await send(server, '/targets/%2e%2e/x');
    expect(await entry(3)).toMatchObject({ status: 400, bytes: 0 });
    expect((await entry(3))?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports no byte count when the client goes away mid-body', async () => {
    const before = entries.length;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/targets/big.bin' },
        (res) => {
          // Read one chunk of 32 MiB, then hang up: the server cannot have finished.
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (error) =>
        (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error),
      );
      req.end();
    });
    const logged = await entry(before + 1);
    expect(logged).toMatchObject({ path: '/targets/big.bin', status: 200, bytes: undefined });
  });
});
