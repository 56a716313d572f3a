/**
 * Benchmark: `HttpFetcher` against Node's global `fetch` and `undici.request` on a loopback
 * server.
 *
 * Two workloads: bulk throughput (100 sequential downloads of 1 MiB, the shape of a target
 * image in pieces) and small-request rate (1000 sequential 200-byte downloads, the shape of a
 * metadata refresh). Every client keeps connections alive. Each client runs in a process of
 * its own so that its peak RSS (`peak-rss.ts`, taken after both workloads) is its own: the
 * figure that moved `HttpFetcher` from undici to `node:http` (see `http-connection-pool.ts`).
 * Figures depend on the machine; compare them with each other, not across machines.
 *
 * Run after `npm run build`: `node dist/bench/fetch.js`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { peakRssMiB } from './peak-rss.js';

const CLIENTS = ['HttpFetcher', 'global fetch', 'undici.request'] as const;
type Client = (typeof CLIENTS)[number];

/** One measured workload for one client. */
export interface FetchBenchResult {
  client: Client;
  workload: string;
  requests: number;
  bytes: number;
  ms: number;
  /** MiB per second over the whole workload. */
  mibPerSecond: number;
  requestsPerSecond: number;
  /** Peak RSS of the client's process after both workloads. */
  peakRssMiB: number;
}

const MIB = 1024 * 1024;
const run = promisify(execFile);

/** A GET that resolves to the whole body, for one client. */
async function getterFor(client: Client): Promise<(url: string, max: number) => Promise<number>> {
  if (client === 'HttpFetcher') {
    const { HttpFetcher } = await import('../src/transport/http-fetcher.js');
    const fetcher = new HttpFetcher();
    return async (url, max) => (await fetcher.fetchBytes(url, max)).byteLength;
  }
  if (client === 'undici.request') {
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({ connections: 4 });
    return async (url) => {
      const response = await request(url, { dispatcher });
      return (await response.body.arrayBuffer()).byteLength;
    };
  }
  return async (url) => (await (await fetch(url)).arrayBuffer()).byteLength;
}

/** Both workloads for `client` against `origin`, in this process. */
async function measureClient(
  client: Client,
  origin: string,
  bulkCount: number,
  smallCount: number,
): Promise<FetchBenchResult[]> {
  const get = await getterFor(client);
  const results: Omit<FetchBenchResult, 'peakRssMiB'>[] = [];
  for (const [workload, path, count, max] of [
    ['100 x 1 MiB', '/big', bulkCount, MIB],
    ['small requests', '/small', smallCount, 1024],
  ] as const) {
    await get(`${origin}${path}`, max); // warm up the connection
    let bytes = 0;
    const started = performance.now();
    for (let i = 0; i < count; i++) bytes += await get(`${origin}${path}`, max);
    const ms = performance.now() - started;
    results.push({
      client,
      workload,
      requests: count,
      bytes,
      ms: Math.round(ms),
      mibPerSecond: Math.round((bytes / MIB / (ms / 1000)) * 10) / 10,
      requestsPerSecond: Math.round(count / (ms / 1000)),
    });
  }
  const peak = Math.round(peakRssMiB());
  return results.map((result) => ({ ...result, peakRssMiB: peak }));
}

/**
 * Run both workloads for every client, each client in a child process, and return the figures.
 *
 * @example
 * ```ts
 * import { benchFetch } from './fetch.js';
 * console.table(await benchFetch());
 * ```
 */
export async function benchFetch(
  options: { bulkCount?: number; smallCount?: number } = {},
): Promise<FetchBenchResult[]> {
  const bulkCount = options.bulkCount ?? 100;
  const smallCount = options.smallCount ?? 1000;
  const big = Buffer.alloc(MIB, 0x5a);
  const small = Buffer.alloc(200, 0x61);
  const server = http.createServer((req, res) => {
    const body = req.url === '/big' ? big : small;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const results: FetchBenchResult[] = [];
  try {
    for (const client of CLIENTS) {
      const { stdout } = await run(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          '--client',
          client,
          origin,
          String(bulkCount),
          String(smallCount),
        ],
        { maxBuffer: 1024 * 1024, timeout: 5 * 60 * 1000 },
      );
      results.push(...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as FetchBenchResult[]));
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [flag, client, origin, bulk, smallCount] = process.argv.slice(2);
  if (flag === '--client' && origin !== undefined) {
    const figures = await measureClient(client as Client, origin, Number(bulk), Number(smallCount));
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    // Keep-alive sockets must not hold the child open.
    process.exit(0);
  }
  console.table(await benchFetch());
}
