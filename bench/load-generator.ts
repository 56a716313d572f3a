/**
 * A bounded HTTP load generator, run as a process of its own (`node dist/bench/load-generator.js
 * PLAN.json`) so that the load it makes does not share an event loop with the server it measures.
 *
 * A plan is a list of requests and a total: `connections` workers take the next request index
 * from one counter (`index % requests.length`) until `total` requests have been sent, each worker
 * over its own keep-alive connection (an undici `Pool`). The result is printed as one JSON line:
 * requests/s over the whole run, latency percentiles from every request's time (no sampling), and
 * errors (any status outside `expectStatus`, or a failed request) counted by status.
 *
 * Bounded by construction: `total` requests, then exit; a request that takes longer than
 * `timeoutMs` counts as an error.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** One request of a plan. */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Request body, base64. */
  body?: string;
}

/** What {@link runLoad} does. */
export interface LoadPlan {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  connections: number;
  total: number;
  requests: LoadRequest[];
  /** Statuses that count as success (default 200, 204, 304). */
  expectStatus?: number[];
  timeoutMs?: number;
}

/** The figures of one run. */
export interface LoadResult {
  requests: number;
  errors: number;
  /** Count per status (`'error'` for requests that failed without one). */
  statuses: Record<string, number>;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first failure seen, to tell why errors happened. */
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** Run a plan in this process and return its figures. */
export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const { Pool } = await import('undici');
  const pool = new Pool(plan.origin, {
    connections: plan.connections,
    pipelining: 1,
    headersTimeout: plan.timeoutMs ?? 30_000,
    bodyTimeout: plan.timeoutMs ?? 30_000,
  });
  const expect = new Set(plan.expectStatus ?? [200, 204, 304]);
  const bodies = plan.requests.map((r) =>
    r.body === undefined ? undefined : Buffer.from(r.body, 'base64'),
  );
  const latencies = new Float64Array(plan.total);
  const statuses: Record<string, number> = {};
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= plan.total) return;
      const request = plan.requests[i % plan.requests.length] as LoadRequest;
      const body = bodies[i % bodies.length];
      const t0 = performance.now();
      let status = 'error';
      try {
        const response = await pool.request({
          method: request.method,
          path: request.path,
          headers: request.headers ?? {},
          ...(body !== undefined ? { body } : {}),
        });
        status = String(response.statusCode);
        const text = await response.body.text();
        if (!expect.has(response.statusCode)) {
          errors += 1;
          firstError ??= `${request.method} ${request.path} → ${status} ${text.slice(0, 200)}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= `${request.method} ${request.path} → ${(error as Error).message}`;
      }
      latencies[i] = performance.now() - t0;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: plan.connections }, () => worker()));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort();
  return {
    requests: plan.total,
    errors,
    statuses,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Math.round(plan.total / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    maxMs: Number(percentile(latencies, 100).toFixed(2)),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const planFile = process.argv[2];
  if (planFile === undefined) {
    console.error('usage: load-generator PLAN.json');
    process.exit(2);
  }
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as LoadPlan;
  const result = await runLoad(plan);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
