/**
 * HttpFetcher over TLS: a private CA generated with openssl for this run, pinned with `ca`;
 * mutual TLS with a client certificate; downgrade redirects refused.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpFetcher, type HttpFetcherOptions } from '../../src/transport/http-fetcher.js';
import { failure } from './fetch-results.js';
import { type Handler, type Loopback, startLoopback } from './loopback-server.js';

const run = promisify(execFile);

interface Pki {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** A second, unrelated CA: the server's certificate does not chain to it. */
  otherCa: string;
}

let dir: string;
let pki: Pki;
const servers: Loopback[] = [];
const fetchers: HttpFetcher[] = [];

/** CA, server (SAN 127.0.0.1) and client (clientAuth) certificates, EC P-256, valid one day. */
async function makePki(into: string): Promise<Pki> {
  const file = (name: string): string => path.join(into, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: into });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-subj',
      `/CN=tufota test ${ca}`,
      '-days',
      '1',
    );
  }
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const leaf of ['server', 'client']) {
    await openssl(
      'req',
      ...newKey,
      '-keyout',
      `${leaf}.key`,
      '-out',
      `${leaf}.csr`,
      '-subj',
      `/CN=tufota test ${leaf}`,
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      `${leaf}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${leaf}.pem`,
      '-days',
      '1',
      '-extfile',
      `${leaf}.ext`,
    );
  }
  const read = (name: string): Promise<string> => readFile(file(name), 'utf8');
  return {
    ca: await read('ca.pem'),
    serverKey: await read('server.key'),
    serverCert: await read('server.pem'),
    clientKey: await read('client.key'),
    clientCert: await read('client.pem'),
    otherCa: await read('other-ca.pem'),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tufota-tls-'));
  pki = await makePki(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(fetchers.splice(0).map((f) => f.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serveTls(handler: Handler, mutual: boolean): Promise<Loopback> {
  const server = await startLoopback(handler, {
    key: pki.serverKey,
    cert: pki.serverCert,
    ...(mutual ? { ca: pki.ca, requestCert: true, rejectUnauthorized: true } : {}),
  });
  servers.push(server);
  return server;
}

function fetcher(options: HttpFetcherOptions): HttpFetcher {
  const created = new HttpFetcher({ retries: 0, ...options });
  fetchers.push(created);
  return created;
}

const ok: Handler = (_req, res) => res.end('signed metadata');

describe('HttpFetcher over TLS', () => {
  it('trusts a server whose certificate chains to the pinned private CA', async () => {
    const server = await serveTls(ok, false);
    const bytes = await fetcher({ ca: pki.ca }).fetchBytes(`${server.origin}/timestamp.json`, 100);
    expect(Buffer.from(bytes).toString()).toBe('signed metadata');
  });

  it('refuses a server certificate from another CA', async () => {
    const server = await serveTls(ok, false);
    const error = await failure(
      fetcher({ ca: pki.otherCa }).fetchBytes(`${server.origin}/timestamp.json`, 100),
    );
    expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    expect(error.message).toMatch(/verify/);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a private-CA server when no CA is pinned (system roots only)', async () => {
    const server = await serveTls(ok, false);
    const error = await failure(fetcher({}).fetchBytes(`${server.origin}/timestamp.json`, 100));
    expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    expect(error.message).toMatch(/verify/);
    expect(server.requests).toHaveLength(0);
  });

  it('accepts a client certificate signed by the CA (mutual TLS)', async () => {
    const server = await serveTls(ok, true);
    const bytes = await fetcher({
      ca: pki.ca,
      cert: pki.clientCert,
      key: pki.clientKey,
    }).fetchBytes(`${server.origin}/director/targets.json`, 100);
    expect(Buffer.from(bytes).toString()).toBe('signed metadata');
    expect(server.requests).toHaveLength(1);
  });

  it('is refused by a mutual-TLS server without a client certificate', async () => {
    const server = await serveTls(ok, true);
    const error = await failure(
      fetcher({ ca: pki.ca }).fetchBytes(`${server.origin}/director/targets.json`, 100),
    );
    expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    expect(server.requests).toHaveLength(0);
  });

  it('accepts PEM given as bytes', async () => {
    const server = await serveTls(ok, true);
    const bytes = await fetcher({
      ca: [new TextEncoder().encode(pki.otherCa), new TextEncoder().encode(pki.ca)],
      cert: new TextEncoder().encode(pki.clientCert),
      key: new TextEncoder().encode(pki.clientKey),
    }).fetchBytes(`${server.origin}/x`, 100);
    expect(bytes.byteLength).toBe(15);
  });

  it('refuses a redirect from https down to plain http', async () => {
    const plain = await startLoopback(ok);
    servers.push(plain);
    const server = await serveTls(
      (_req, res) => res.writeHead(302, { location: `${plain.origin}/x` }).end(),
      false,
    );
    const error = await failure(fetcher({ ca: pki.ca }).fetchBytes(`${server.origin}/x`, 100));
    expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    expect(error.message).toMatch(/https to plain http/);
    expect(plain.requests).toHaveLength(0);
  });

  it('fails with SlowRetrievalError when the TLS handshake never completes (connectTimeoutMs)', async () => {
    // Accepts TCP, then says nothing: only the connect timeout, which covers the handshake, ends it.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const error = await failure(
        fetcher({ ca: pki.ca, connectTimeoutMs: 200, headersTimeoutMs: 0 }).fetchBytes(
          `https://127.0.0.1:${port}/x`,
          100,
        ),
      );
      expect(error.code).toBe('ERR_TUF_SLOW_RETRIEVAL');
      expect(error.message).toMatch(/connectTimeoutMs/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  describe('through a proxy', () => {
    interface Proxy {
      url: string;
      tunnels: string[];
      authorizations: (string | undefined)[];
      close(): Promise<void>;
    }

    /**
     * A CONNECT proxy that answers `refuse` (e.g. 407) instead of tunnelling, when given; over
     * TLS (certificate from the test CA) when `secure`.
     */
    async function startProxy(refuse?: number, secure = false): Promise<Proxy> {
      const tunnels: string[] = [];
      const authorizations: (string | undefined)[] = [];
      const open = new Set<net.Socket>();
      const reject = (_req: http.IncomingMessage, res: http.ServerResponse) =>
        res.writeHead(502).end();
      const proxy = secure
        ? https.createServer({ key: pki.serverKey, cert: pki.serverCert }, reject)
        : http.createServer(reject);
      proxy.on('connection', (socket: net.Socket) => open.add(socket));
      proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
        tunnels.push(req.url ?? '');
        authorizations.push(req.headers['proxy-authorization']);
        open.add(client);
        client.on('error', () => {});
        if (refuse !== undefined) {
          client.end(`HTTP/1.1 ${refuse} Refused\r\nContent-Length: 0\r\n\r\n`);
          return;
        }
        const [host, port] = (req.url ?? '').split(':');
        const upstream = net.connect(Number(port), host, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.write(head);
          upstream.pipe(client).pipe(upstream);
        });
        open.add(upstream);
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const { port } = proxy.address() as net.AddressInfo;
      return {
        url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
        tunnels,
        authorizations,
        close: async () => {
          for (const socket of open) socket.destroy();
          await new Promise<void>((resolve) => proxy.close(() => resolve()));
        },
      };
    }

    it('runs TLS to the origin inside the tunnel, with the pinned CA and a client certificate', async () => {
      const server = await serveTls(ok, true);
      const proxy = await startProxy();
      try {
        const client = fetcher({
          proxy: proxy.url,
          ca: pki.ca,
          cert: pki.clientCert,
          key: pki.clientKey,
        });
        for (let i = 0; i < 3; i++) {
          const bytes = await client.fetchBytes(`${server.origin}/x${i}`, 100);
          expect(Buffer.from(bytes).toString()).toBe('signed metadata');
        }
        // One tunnel, kept alive for the three requests.
        expect(proxy.tunnels).toEqual([server.origin.replace('https://', '')]);
        expect(server.requests.map((r) => r.url)).toEqual(['/x0', '/x1', '/x2']);
        await client.close();
      } finally {
        await proxy.close();
      }
    });

    it('refuses the origin certificate inside the tunnel when it does not chain to the pinned CA', async () => {
      const server = await serveTls(ok, false);
      const proxy = await startProxy();
      try {
        const error = await failure(
          fetcher({ proxy: proxy.url, ca: pki.otherCa }).fetchBytes(`${server.origin}/x`, 100),
        );
        expect(error.code).toBe('ERR_TUF_DOWNLOAD');
        expect(server.requests).toHaveLength(0);
      } finally {
        await proxy.close();
      }
    });

    it('reaches the proxy itself over TLS, verified against the pinned CA', async () => {
      const server = await serveTls(ok, false);
      const proxy = await startProxy(undefined, true);
      try {
        const bytes = await fetcher({ proxy: proxy.url, ca: pki.ca }).fetchBytes(
          `${server.origin}/x`,
          100,
        );
        expect(Buffer.from(bytes).toString()).toBe('signed metadata');
        expect(proxy.tunnels).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    });

    it('refuses a TLS proxy whose certificate does not chain to the pinned CA', async () => {
      const server = await serveTls(ok, false);
      const proxy = await startProxy(undefined, true);
      try {
        const error = await failure(
          fetcher({ proxy: proxy.url, ca: pki.otherCa }).fetchBytes(`${server.origin}/x`, 100),
        );
        expect(error.code).toBe('ERR_TUF_DOWNLOAD');
        expect(proxy.tunnels).toHaveLength(0);
        expect(server.requests).toHaveLength(0);
      } finally {
        await proxy.close();
      }
    });

    it('sends credentials from the proxy URL as Basic proxy authorization', async () => {
      const server = await serveTls(ok, false);
      const proxy = await startProxy();
      try {
        const withCredentials = proxy.url.replace('http://', 'http://fleet%40a:p%3Ass@');
        await fetcher({ proxy: withCredentials, ca: pki.ca }).fetchBytes(`${server.origin}/x`, 100);
        const expected = `Basic ${Buffer.from('fleet@a:p:ss').toString('base64')}`;
        expect(proxy.authorizations).toEqual([expected]);
      } finally {
        await proxy.close();
      }
    });

    it('sends a token as given', async () => {
      const server = await serveTls(ok, false);
      const proxy = await startProxy();
      try {
        await fetcher({
          proxy: { uri: proxy.url, token: 'Bearer proxy-token' },
          ca: pki.ca,
        }).fetchBytes(`${server.origin}/x`, 100);
        expect(proxy.authorizations).toEqual(['Bearer proxy-token']);
      } finally {
        await proxy.close();
      }
    });

    it('fails with a DownloadError naming the status when the proxy refuses the tunnel', async () => {
      const server = await serveTls(ok, false);
      const proxy = await startProxy(407);
      try {
        const error = await failure(
          fetcher({ proxy: proxy.url, ca: pki.ca }).fetchBytes(`${server.origin}/x`, 100),
        );
        expect(error.code).toBe('ERR_TUF_DOWNLOAD');
        expect(error.message).toMatch(/proxy refused a tunnel .*HTTP 407/);
        expect(server.requests).toHaveLength(0);
      } finally {
        await proxy.close();
      }
    });
  });
});
