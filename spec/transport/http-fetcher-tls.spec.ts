/**
 * HttpFetcher over TLS: a private CA generated with openssl for this run, pinned with `ca`;
 * mutual TLS with a client certificate; downgrade redirects refused.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
});
