/**
 * HttpFetcher against real loopback servers: status mapping, the length cap on declared and
 * endless bodies, slow-retrieval guards, retries, resume, redirects, keep-alive, proxies, abort.
 * Timeouts are short so failures are fast; assertions are on error codes, never on time.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DownloadHttpError } from '../../src/errors.js';
import { HttpFetcher, type HttpFetcherOptions } from '../../src/transport/http-fetcher.js';
import { drain, failure } from './fetch-results.js';
import { connectionClosed, type Handler, type Loopback, startLoopback } from './loopback-server.js';

const servers: Loopback[] = [];
const fetchers: HttpFetcher[] = [];

afterEach(async () => {
  await Promise.all(fetchers.splice(0).map((f) => f.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler): Promise<Loopback> {
  const server = await startLoopback(handler);
  servers.push(server);
  return server;
}

function fetcher(options: HttpFetcherOptions = {}): HttpFetcher {
  const created = new HttpFetcher({ retryBaseDelayMs: 1, retryMaxDelayMs: 5, ...options });
  fetchers.push(created);
  return created;
}

const PAYLOAD = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

/** Serves PAYLOAD and honours `Range: bytes=N-` like a static file server. */
const rangeServer: Handler = (req, res) => {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (match === null) {
    res.end(PAYLOAD);
    return;
  }
  const start = Number(match[1]);
  if (start >= PAYLOAD.length) {
    res.writeHead(416, { 'content-range': `bytes */${PAYLOAD.length}` }).end();
    return;
  }
  res.writeHead(206, {
    'content-range': `bytes ${start}-${PAYLOAD.length - 1}/${PAYLOAD.length}`,
    'content-length': PAYLOAD.length - start,
  });
  res.end(PAYLOAD.subarray(start));
};

describe('HttpFetcher', () => {
  it('downloads a body and sends identity encoding and the user agent', async () => {
    const server = await serve((_req, res) => res.end(PAYLOAD));
    const bytes = await fetcher({ userAgent: 'device/1' }).fetchBytes(
      `${server.origin}/metadata/timestamp.json`,
      1000,
    );
    expect(Buffer.from(bytes).equals(PAYLOAD)).toBe(true);
    expect(server.requests[0]?.url).toBe('/metadata/timestamp.json');
    expect(server.requests[0]?.headers['accept-encoding']).toBe('identity');
    expect(server.requests[0]?.headers['user-agent']).toBe('device/1');
  });

  it.each([403, 404, 410])('maps HTTP %i to NotFoundError without retrying', async (status) => {
    const server = await serve((_req, res) => res.writeHead(status).end('nope'));
    const error = await failure(
      fetcher({ retries: 3 }).fetchBytes(`${server.origin}/2.root.json`, 100),
    );
    expect(error.code).toBe('ERR_TUF_NOT_FOUND');
    expect(error.url).toBe(`${server.origin}/2.root.json`);
    expect(server.requests).toHaveLength(1);
  });

  it('does not wait for a 404 whose body drips forever (slow-retrieval through an error page)', async () => {
    let closed: Promise<void> | undefined;
    const server = await serve((_req, res) => {
      closed = connectionClosed(res);
      res.writeHead(404);
      const timer = setInterval(() => res.write('.'), 50);
      res.once('close', () => clearInterval(timer));
    });
    // No body timeout: only the bounded discard of refused bodies ends this.
    const error = await failure(fetcher({ bodyTimeoutMs: 0 }).fetchBytes(`${server.origin}/x`, 99));
    expect(error.code).toBe('ERR_TUF_NOT_FOUND');
    await closed;
  });

  it('maps HTTP 500 to DownloadHttpError with the status, without retrying', async () => {
    const server = await serve((_req, res) => res.writeHead(500).end());
    const error = await failure(fetcher({ retries: 3 }).fetchBytes(`${server.origin}/x`, 100));
    expect(error.code).toBe('ERR_TUF_DOWNLOAD_HTTP');
    expect((error as DownloadHttpError).statusCode).toBe(500);
    expect(server.requests).toHaveLength(1);
  });

  describe('length cap', () => {
    it('refuses a Content-Length above the cap without reading the body', async () => {
      let closed: Promise<void> | undefined;
      const server = await serve((_req, res) => {
        // Headers only, then silence: reading the body would end in a body timeout instead.
        res.writeHead(200, { 'content-length': 1_000_000 }).flushHeaders();
        closed = connectionClosed(res);
      });
      const error = await failure(
        fetcher({ bodyTimeoutMs: 200 }).fetchBytes(`${server.origin}/big`, 1000),
      );
      expect(error.code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
      await closed; // the connection is torn down, not left waiting for a million bytes
    });

    it('stops an endless chunked body after exactly the cap and closes the connection', async () => {
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      let written = 0;
      let closed: Promise<void> | undefined;
      const server = await serve((_req, res) => {
        closed = connectionClosed(res);
        res.writeHead(200); // no Content-Length: chunked, endless
        const pump = (): void => {
          // Bounded so a broken client cannot make the test run forever.
          while (!res.destroyed && written < 64 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
      });
      const cap = 100_000;
      let received = 0;
      const error = await failure(
        (async () => {
          for await (const part of fetcher().fetchStream(`${server.origin}/endless`, cap)) {
            received += part.byteLength;
          }
        })(),
      );
      expect(error.code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
      expect(received).toBe(cap);
      await closed;
      expect(written).toBeLessThan(64 * 1024 * 1024);
    });

    it('accepts a body of exactly the cap', async () => {
      const server = await serve((_req, res) => res.end(PAYLOAD));
      const bytes = await fetcher().fetchBytes(`${server.origin}/x`, PAYLOAD.length);
      expect(bytes.byteLength).toBe(PAYLOAD.length);
    });
  });

  describe('slow retrieval', () => {
    it('fails with SlowRetrievalError when the body stalls after the headers', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': 100 });
        res.write('partial');
      });
      const error = await failure(
        fetcher({ bodyTimeoutMs: 200 }).fetchBytes(`${server.origin}/stall`, 100),
      );
      expect(error.code).toBe('ERR_TUF_SLOW_RETRIEVAL');
      expect(server.requests).toHaveLength(1); // a stalled body is never retried
    });

    it('does not count time the consumer spends on a chunk against bodyTimeoutMs', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': 2 });
        res.write('a');
        setTimeout(() => res.end('b'), 10);
      });
      const received: string[] = [];
      // The consumer is busy (a slow flash write, say) for twice the body timeout after the
      // first chunk, while the server has long finished sending.
      for await (const chunk of fetcher({ bodyTimeoutMs: 200 }).fetchStream(
        `${server.origin}/x`,
        2,
      )) {
        received.push(Buffer.from(chunk).toString());
        if (received.length === 1) await new Promise((resolve) => setTimeout(resolve, 400));
      }
      expect(received.join('')).toBe('ab');
    });

    it('fails with SlowRetrievalError when headers never come, after retrying once', async () => {
      const server = await serve(() => {});
      const error = await failure(
        fetcher({ headersTimeoutMs: 200, retries: 1 }).fetchBytes(`${server.origin}/x`, 100),
      );
      expect(error.code).toBe('ERR_TUF_SLOW_RETRIEVAL');
      expect(server.requests).toHaveLength(2);
    });

    it('fails a server that drips bytes below minBytesPerSecond', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200);
        const timer = setInterval(() => res.write('x'), 20);
        res.once('close', () => clearInterval(timer));
      });
      const error = await failure(
        fetcher({ minBytesPerSecond: 10_000, speedWindowMs: 200, bodyTimeoutMs: 5_000 }).fetchBytes(
          `${server.origin}/drip`,
          1_000_000,
        ),
      );
      expect(error.code).toBe('ERR_TUF_SLOW_RETRIEVAL');
      expect(error.message).toMatch(/bytes\/s/);
    });

    it('enforces totalTimeoutMs across the whole transfer', async () => {
      let closed: Promise<void> | undefined;
      const server = await serve((_req, res) => {
        closed = connectionClosed(res);
        res.writeHead(200);
        const timer = setInterval(() => res.write('x'), 20);
        res.once('close', () => clearInterval(timer));
      });
      const error = await failure(
        fetcher({ minBytesPerSecond: 0, totalTimeoutMs: 300 }).fetchBytes(
          `${server.origin}/drip`,
          1_000_000,
        ),
      );
      expect(error.code).toBe('ERR_TUF_SLOW_RETRIEVAL');
      expect(error.message).toMatch(/totalTimeoutMs/);
      await closed;
    });
  });

  describe('retries', () => {
    it('retries 503 twice, then succeeds: exactly three requests', async () => {
      const server = await serve((_req, res, index) => {
        if (index < 2) res.writeHead(503).end('busy');
        else res.end(PAYLOAD);
      });
      const bytes = await fetcher({ retries: 2 }).fetchBytes(`${server.origin}/x`, 100);
      expect(Buffer.from(bytes).equals(PAYLOAD)).toBe(true);
      expect(server.requests).toHaveLength(3);
    });

    it.each([502, 503, 504, 429])(
      'gives up on persistent %i after the configured retries',
      async (status) => {
        const server = await serve((_req, res) =>
          res.writeHead(status, { 'retry-after': '0' }).end(),
        );
        const error = await failure(fetcher({ retries: 2 }).fetchBytes(`${server.origin}/x`, 100));
        expect(error.code).toBe('ERR_TUF_DOWNLOAD_HTTP');
        expect((error as DownloadHttpError).statusCode).toBe(status);
        expect(server.requests).toHaveLength(3);
      },
    );

    it('retries a connection reset before the response', async () => {
      const server = await serve((req, res, index) => {
        if (index === 0) req.socket.destroy();
        else res.end(PAYLOAD);
      });
      const bytes = await fetcher({ retries: 1 }).fetchBytes(`${server.origin}/x`, 100);
      expect(bytes.byteLength).toBe(PAYLOAD.length);
      expect(server.requests).toHaveLength(2);
    });

    it('does not retry when the cap is exceeded', async () => {
      const server = await serve((_req, res) => res.end(PAYLOAD));
      const error = await failure(fetcher({ retries: 3 }).fetchBytes(`${server.origin}/x`, 5));
      expect(error.code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
      expect(server.requests).toHaveLength(1);
    });

    it('retries a refused connection, then reports it as a DownloadError', async () => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as net.AddressInfo;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const error = await failure(
        fetcher({ retries: 1 }).fetchBytes(`http://127.0.0.1:${port}/x`, 9),
      );
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
      expect(error.message).toMatch(/ECONNREFUSED/);
    });
  });

  describe('resume', () => {
    it('resumes with Range when the server answers 206', async () => {
      const server = await serve(rangeServer);
      const response = await fetcher().fetchRange(`${server.origin}/t`, PAYLOAD.length, {
        offset: 10,
      });
      expect(response.offset).toBe(10);
      expect(response.declaredLength).toBe(PAYLOAD.length - 10);
      expect((await drain(response)).equals(PAYLOAD.subarray(10))).toBe(true);
      expect(server.requests[0]?.headers.range).toBe('bytes=10-');
    });

    it('reports offset 0 when the server ignores Range and answers 200', async () => {
      const server = await serve((_req, res) => res.end(PAYLOAD));
      const response = await fetcher().fetchRange(`${server.origin}/t`, PAYLOAD.length, {
        offset: 10,
      });
      expect(response.offset).toBe(0);
      expect((await drain(response)).equals(PAYLOAD)).toBe(true);
    });

    it('sends no Range header for a whole download', async () => {
      const server = await serve(rangeServer);
      await fetcher().fetchBytes(`${server.origin}/t`, 100);
      expect(server.requests[0]?.headers.range).toBeUndefined();
    });

    it('refuses a 206 that starts elsewhere than requested', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(206, { 'content-range': `bytes 0-9/${PAYLOAD.length}` });
        res.end(PAYLOAD.subarray(0, 10));
      });
      const error = await failure(
        fetcher().fetchRange(`${server.origin}/t`, PAYLOAD.length, { offset: 5 }),
      );
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
      expect(error.message).toMatch(/Content-Range/);
    });

    it('refuses a 206 whose total length exceeds the cap before reading', async () => {
      const server = await serve(rangeServer);
      const error = await failure(fetcher().fetchRange(`${server.origin}/t`, 20, { offset: 5 }));
      expect(error.code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
    });

    it('yields an empty body at the offset when the resource is already complete (416)', async () => {
      const server = await serve(rangeServer);
      const response = await fetcher().fetchRange(`${server.origin}/t`, 100, {
        offset: PAYLOAD.length,
      });
      expect(response.offset).toBe(PAYLOAD.length);
      expect((await drain(response)).length).toBe(0);
      expect(server.requests).toHaveLength(1);
    });

    it('restarts from 0 when the offset lies beyond the resource (416)', async () => {
      const server = await serve(rangeServer);
      const response = await fetcher().fetchRange(`${server.origin}/t`, 100, { offset: 50 });
      expect(response.offset).toBe(0);
      expect((await drain(response)).equals(PAYLOAD)).toBe(true);
      expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=50-', undefined]);
    });
  });

  describe('connections', () => {
    it('reuses one keep-alive connection for sequential fetches with connections: 1', async () => {
      const server = await serve((_req, res) => res.end(PAYLOAD));
      const client = fetcher({ connections: 1 });
      for (let i = 0; i < 5; i++) await client.fetchBytes(`${server.origin}/m${i}`, 100);
      expect(server.requests).toHaveLength(5);
      expect(server.connections).toBe(1);
    });

    it('keeps sequential fetches within the default pool instead of reconnecting', async () => {
      const server = await serve((_req, res) => res.end(PAYLOAD));
      const client = fetcher();
      for (let i = 0; i < 10; i++) await client.fetchBytes(`${server.origin}/m${i}`, 100);
      expect(server.requests).toHaveLength(10);
      // The pool may open a second socket while the first is being released, never one each.
      expect(server.connections).toBeLessThanOrEqual(4);
    });

    it('closes the connection when the consumer stops reading early', async () => {
      let closed: Promise<void> | undefined;
      const server = await serve((_req, res) => {
        closed = connectionClosed(res);
        res.writeHead(200, { 'content-length': 1_000_000 });
        res.write(Buffer.alloc(1000));
      });
      // No body timeout: only releasing the body can close this connection.
      for await (const _ of fetcher({ bodyTimeoutMs: 0 }).fetchStream(`${server.origin}/x`, 1e6)) {
        break;
      }
      await closed;
    });

    it('aborts a download in flight with the caller’s reason and closes the connection', async () => {
      let closed: Promise<void> | undefined;
      const server = await serve((_req, res) => {
        closed = connectionClosed(res);
        res.writeHead(200, { 'content-length': 100 });
        res.write('some');
      });
      const controller = new AbortController();
      const reason = new Error('operator cancelled');
      const response = await fetcher().fetchRange(`${server.origin}/x`, 100, {
        offset: 0,
        signal: controller.signal,
      });
      const pending = drain(response);
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await closed;
    });

    it('fails fetches after close()', async () => {
      const server = await serve((_req, res) => res.end(PAYLOAD));
      const client = fetcher();
      await client.close();
      const error = await failure(client.fetchBytes(`${server.origin}/x`, 100));
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    });

    it('goes through an HTTP proxy', async () => {
      const origin = await serve((_req, res) => res.end(PAYLOAD));
      let tunnels = 0;
      const proxy = http.createServer((_req, res) => res.writeHead(502).end());
      proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
        tunnels++;
        const [host, port] = (req.url ?? '').split(':');
        const upstream = net.connect(Number(port), host, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.write(head);
          upstream.pipe(client).pipe(upstream);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = proxy.address() as net.AddressInfo;
        const client = fetcher({ proxy: `http://127.0.0.1:${port}` });
        const bytes = await client.fetchBytes(`${origin.origin}/via-proxy`, 100);
        expect(Buffer.from(bytes).equals(PAYLOAD)).toBe(true);
        expect(tunnels).toBe(1);
        expect(origin.requests[0]?.url).toBe('/via-proxy');
        await client.close();
      } finally {
        proxy.closeAllConnections();
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      }
    });
  });

  describe('redirects', () => {
    it('follows a redirect to another origin and drops credentials there', async () => {
      const target = await serve((_req, res) => res.end(PAYLOAD));
      const front = await serve((_req, res) =>
        res.writeHead(302, { location: `${target.origin}/moved` }).end(),
      );
      const bytes = await fetcher({
        headers: { Authorization: 'Bearer s3cret', 'X-Fleet': 'a' },
      }).fetchBytes(`${front.origin}/orig`, 100);
      expect(Buffer.from(bytes).equals(PAYLOAD)).toBe(true);
      expect(front.requests[0]?.headers.authorization).toBe('Bearer s3cret');
      expect(target.requests[0]?.url).toBe('/moved');
      expect(target.requests[0]?.headers.authorization).toBeUndefined();
      expect(target.requests[0]?.headers['x-fleet']).toBe('a');
    });

    it('keeps the Range header across a same-origin redirect', async () => {
      const server = await serve((req, res) => {
        if (req.url === '/old') res.writeHead(301, { location: '/new' }).end();
        else rangeServer(req, res, 0);
      });
      const response = await fetcher().fetchRange(`${server.origin}/old`, 100, { offset: 30 });
      expect(response.offset).toBe(30);
      expect((await drain(response)).equals(PAYLOAD.subarray(30))).toBe(true);
    });

    it('refuses more than maxRedirections hops', async () => {
      const server = await serve((req, res) =>
        res.writeHead(302, { location: `${req.url ?? '/'}x` }).end(),
      );
      const error = await failure(
        fetcher({ maxRedirections: 2 }).fetchBytes(`${server.origin}/`, 100),
      );
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
      expect(error.message).toMatch(/maxRedirections/);
      expect(server.requests).toHaveLength(3);
    });

    it('refuses a redirect to a non-HTTP scheme', async () => {
      const server = await serve((_req, res) =>
        res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
      );
      const error = await failure(fetcher().fetchBytes(`${server.origin}/`, 100));
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
      expect(error.message).toMatch(/file:/);
    });
  });

  describe('configuration', () => {
    it('rejects a file: URL', async () => {
      const error = await failure(fetcher().fetchBytes('file:///etc/hostname', 100));
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    });

    it.each<[string, HttpFetcherOptions]>([
      ['a reserved range header', { headers: { Range: 'bytes=0-' } }],
      ['a negative retry count', { retries: -1 }],
      ['zero connections', { connections: 0 }],
      ['a certificate without its key', { cert: 'PEM' }],
      ['a zero total timeout', { totalTimeoutMs: 0 }],
    ])('refuses %s', (_name, options) => {
      expect(() => new HttpFetcher(options)).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
      );
    });
  });
});
