/**
 * Benchmark: `HttpFetcher` against Node's global `fetch` on a loopback server.
 *
 * Two workloads: bulk throughput (100 sequential downloads of 1 MiB, the shape of a target
 * image in pieces) and small-request rate (1000 sequential 200-byte downloads, the shape of a
 * metadata refresh). Both clients keep connections alive. Figures depend on the machine; compare
 * them with each other, not across machines.
 *
 * Run after `npm run build`: `node dist/bench/fetch.js`.
 *
 * @module
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { HttpFetcher } from '../src/transport/http-fetcher.js';

/** One measured workload for one client. */
export interface FetchBenchResult {
  client: 'HttpFetcher' | 'global fetch';
  workload: string;
  requests: number;
  bytes: number;
  ms: number;
  /** MiB per second over the whole workload. */
  mibPerSecond: number;
  requestsPerSecond: number;
}

const MIB = 1024 * 1024;

/**
 * Run both workloads for both clients and return the figures.
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
  const fetcher = new HttpFetcher();
  const results: FetchBenchResult[] = [];
  try {
    const clients = {
      HttpFetcher: (url: string, max: number) => fetcher.fetchBytes(url, max),
      'global fetch': async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer()),
    } as const;
    for (const [client, get] of Object.entries(clients) as [
      FetchBenchResult['client'],
      (url: string, max: number) => Promise<Uint8Array>,
    ][]) {
      for (const [workload, path, count, max] of [
        ['100 x 1 MiB', '/big', bulkCount, MIB],
        ['small requests', '/small', smallCount, 1024],
      ] as const) {
        await get(`${origin}${path}`, max); // warm up the connection
        let bytes = 0;
        const started = performance.now();
        for (let i = 0; i < count; i++) bytes += (await get(`${origin}${path}`, max)).byteLength;
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
    }
  } finally {
    await fetcher.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchFetch());
}
