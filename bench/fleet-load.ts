/**
 * Benchmark: the fleet server under a simulated fleet (issue 14). 10,000 devices (override with
 * `TUFOTA_BENCH_DEVICES`) each poll their director `timestamp.json` and post a signed vehicle
 * version manifest, over loopback, against `tufota server start` with SQLite and with PostgreSQL
 * (when `TUFOTA_PG_URL` answers), beside `tufota serve` answering a static `timestamp.json` —
 * the ceiling: the same HTTP work with no authentication, database or signing.
 *
 * Every side runs in a process of its own: the server (the built CLI), the load generator
 * (`load-generator.ts`, undici with 32 keep-alive connections) and this orchestrator, which sets
 * the fleet up through the real API first (pre-authorize → challenge → token → register for each
 * device) and signs each device's manifest with that device's own ed25519 ECU key.
 *
 * Bounded: a fixed number of requests per run. Figures: requests/s, p50/p99 latency, errors.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex, InMemorySigner } from '../src/crypto/index.js';

import {
  ecuVersionReportToJSON,
  signEnvelope,
  vehicleManifestToJSON,
} from '../src/uptane/verify/manifest.js';
import type { LoadPlan, LoadRequest, LoadResult } from './load-generator.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'src', 'cli', 'main.js');
const GENERATOR = path.join(here, 'load-generator.js');
const CONNECTIONS = 32;

interface Device {
  deviceId: string;
  signer: InMemorySigner;
  token: string;
  manifest: string;
}

function cli(args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, TUFOTA_KEY_PASSWORD: 'bench-only password', ...env },
    encoding: 'utf8',
  });
}

async function startProcess(
  args: string[],
  cwd: string,
  marker: RegExp,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TUFOTA_KEY_PASSWORD: 'bench-only password' },
  });
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${seen}`)), 60_000);
    const look = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = marker.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${seen}`)));
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function runGenerator(plan: LoadPlan, dir: string): Promise<LoadResult> {
  const file = path.join(dir, `plan-${Date.now()}.json`);
  await fs.writeFile(file, JSON.stringify(plan));
  const out = execFileSync(process.execPath, [GENERATOR, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  await fs.rm(file);
  return JSON.parse(out) as LoadResult;
}

/** Set the fleet up through the API, with bounded concurrency. */
async function provision(url: string, adminToken: string, count: number): Promise<Device[]> {
  const { Pool } = await import('undici');
  const pool = new Pool(url, { connections: 16 });
  const call = async (method: 'GET' | 'POST', p: string, body: unknown, token: string) => {
    const response = await pool.request({
      method,
      path: p,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300)
      throw new Error(`${method} ${p}: ${response.statusCode} ${text}`);
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  };
  const devices: Device[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const deviceId = `load-${String(i).padStart(6, '0')}`;
      const signer = await InMemorySigner.generate('ed25519');
      await call(
        'POST',
        '/api/admin/v1/devices',
        { deviceId, publicKey: signer.publicKey },
        adminToken,
      );
      const challenge = await call('POST', '/api/device/v1/challenge', { deviceId }, '');
      const message = new TextEncoder().encode(
        `tufota-device-auth-v1\n${challenge.challengeId}\n${deviceId}\n${challenge.nonce}`,
      );
      const signature = bytesToHex(await signer.sign(message));
      const { token } = (await call(
        'POST',
        '/api/device/v1/token',
        { challengeId: challenge.challengeId, signature },
        '',
      )) as { token: string };
      await call(
        'POST',
        '/api/device/v1/register',
        {
          deviceId,
          publicKey: signer.publicKey,
          model: 'gw-200',
          ecus: [
            {
              ecuSerial: `${deviceId}-gw`,
              hardwareId: 'gateway',
              primary: true,
              publicKey: signer.publicKey,
            },
          ],
        },
        token,
      );
      const report = await signEnvelope(
        ecuVersionReportToJSON({
          ecuSerial: `${deviceId}-gw`,
          installedImage: undefined,
          attacksDetected: [],
          reportCounter: 1,
          time: new Date(Math.floor(Date.now() / 1000) * 1000),
        }),
        signer,
      );
      const manifest = await signEnvelope(
        vehicleManifestToJSON({
          deviceId,
          primaryEcuSerial: `${deviceId}-gw`,
          ecuVersionManifests: { [`${deviceId}-gw`]: report },
        }),
        signer,
      );
      devices[i] = { deviceId, signer, token, manifest: JSON.stringify(manifest) };
    }
  };
  await Promise.all(Array.from({ length: 16 }, () => worker()));
  await pool.close();
  return devices;
}

async function pgReachable(url: string): Promise<boolean> {
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function fleetRun(
  backend: 'sqlite' | 'postgres',
  work: string,
  repo: string,
  count: number,
): Promise<Record<string, unknown>[]> {
  const dir = await fs.mkdtemp(path.join(work, `${backend}-`));
  const config = path.join(dir, 'fleet.json');
  const database: Record<string, string> = {};
  let dbName: string | undefined;
  const pgUrl = process.env.TUFOTA_PG_URL ?? 'postgres://tufota:tufota@127.0.0.1:5432/postgres';
  if (backend === 'postgres') {
    const { default: pg } = await import('pg');
    dbName = `tufota_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(pgUrl);
    u.pathname = `/${dbName}`;
    database.url = u.toString();
  }
  await fs.writeFile(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      port: 0,
      repository: { dir: repo },
      provisioning: { modes: ['device-key'] },
      logLevel: 'warn',
      ...(backend === 'postgres' ? { database } : {}),
    }),
  );
  const init = JSON.parse(cli(['server', 'init', '--config', config, '--json'], dir)) as {
    token: string;
  };
  const server = await startProcess(
    ['server', 'start', '--config', config],
    dir,
    /fleet server at (https?:\/\/[^\s;]+)/,
  );
  const rows: Record<string, unknown>[] = [];
  try {
    const t0 = Date.now();
    const devices = await provision(server.url, init.token, count);
    rows.push({
      backend,
      workload: `provision ${count} devices (4 calls each)`,
      seconds: (Date.now() - t0) / 1000,
    });
    const poll: LoadRequest[] = devices.map((d) => ({
      method: 'GET',
      path: `/director/${d.deviceId}/timestamp.json`,
      headers: { authorization: `Bearer ${d.token}` },
    }));
    const mixed: LoadRequest[] = devices.flatMap((d, i) => [
      poll[i] as LoadRequest,
      {
        method: 'POST',
        path: '/api/device/v1/manifest',
        headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
        body: Buffer.from(d.manifest).toString('base64'),
      },
    ]);
    const polled = await runGenerator(
      { origin: server.url, connections: CONNECTIONS, total: 2 * count, requests: poll },
      dir,
    );
    rows.push({ backend, workload: `timestamp polls (${2 * count})`, ...summary(polled) });
    const posted = await runGenerator(
      { origin: server.url, connections: CONNECTIONS, total: mixed.length, requests: mixed },
      dir,
    );
    rows.push({
      backend,
      workload: `poll + manifest per device (${mixed.length})`,
      ...summary(posted),
    });
  } finally {
    await stop(server.child);
    if (dbName !== undefined) {
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }
  return rows;
}

function summary(r: LoadResult): Record<string, unknown> {
  return {
    'req/s': r.requestsPerSecond,
    'p50 ms': r.p50Ms,
    'p99 ms': r.p99Ms,
    errors: r.errors,
    ...(r.firstError !== undefined ? { firstError: r.firstError.slice(0, 120) } : {}),
  };
}

/** Run the fleet load benchmark; rows for `console.table`. */
export async function benchFleetLoad(): Promise<Record<string, unknown>[]> {
  const count = Number(process.env.TUFOTA_BENCH_DEVICES ?? 10_000);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-fleet-load-'));
  const rows: Record<string, unknown>[] = [];
  try {
    cli(['init', 'repo', '--keys-dir', 'keys'], work);
    const repo = path.join(work, 'repo');
    // The ceiling: `tufota serve` answering a static timestamp.json.
    const serve = await startProcess(
      ['serve', repo, '--port', '0', '--quiet'],
      work,
      /(http:\/\/127\.0\.0\.1:\d+)/,
    );
    try {
      const ceiling = await runGenerator(
        {
          origin: serve.url,
          connections: CONNECTIONS,
          total: 2 * count,
          requests: [{ method: 'GET', path: '/metadata/timestamp.json' }],
        },
        work,
      );
      rows.push({
        backend: 'tufota serve (static ceiling)',
        workload: `timestamp.json (${2 * count})`,
        ...summary(ceiling),
      });
    } finally {
      await stop(serve.child);
    }
    rows.push(...(await fleetRun('sqlite', work, repo, count)));
    const pgUrl = process.env.TUFOTA_PG_URL ?? 'postgres://tufota:tufota@127.0.0.1:5432/postgres';
    if (await pgReachable(pgUrl)) {
      rows.push(...(await fleetRun('postgres', work, repo, count)));
    } else {
      rows.push({
        backend: 'postgres',
        workload: `not run: nothing answers at ${pgUrl} (see .ci/run)`,
      });
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return rows;
}
