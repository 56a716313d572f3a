/**
 * nginx serving a bench repository on loopback, as issue 12's measurements were made ("served
 * by nginx on loopback"). A server in its own process, written in C, with `sendfile`: each
 * request costs the client's wait far less than a Node server does, so what the clients are
 * compared on is their own work. `bench/client.ts` uses it when Debian's `nginx-light` (or
 * `nginx`) is installed and falls back to the embedded static server otherwise.
 *
 * One process (`master_process off`, so it keeps the bench's user and reads its private temp
 * directories), no access log, and everything it writes stays in its own temporary prefix.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The nginx binary, or undefined when none is installed. */
export function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', 'nginx']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/** A running nginx: its base URL and how to stop it. */
export interface NginxServer {
  url: string;
  version: string;
  close(): Promise<void>;
}

/** A port the kernel says is free now (nginx cannot listen on port 0 and report it). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function config(prefix: string, root: string, port: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log error;
events { worker_connections 1024; }
http {
  access_log off;
  log_not_found off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  types { application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

/** GET `url` once; true on any HTTP answer (the server is up). */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(500) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Start nginx serving `root` on 127.0.0.1. Tries a few free ports (another process may take
 * the probed one first) and waits at most ~5 s for each start.
 *
 * @throws Error when nginx does not come up; its error log is in the message.
 */
export async function startNginx(binary: string, root: string): Promise<NginxServer> {
  const prefix = await mkdtemp(path.join(tmpdir(), 'tufota-bench-nginx-'));
  const version = spawnSync(binary, ['-v'], { encoding: 'utf8' }).stderr.trim();
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = path.join(prefix, 'nginx.conf');
    await mkdir(path.join(prefix, 'logs'), { recursive: true });
    await writeFile(conf, config(prefix, path.resolve(root), port));
    const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', conf], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      if (await answers(`${url}/`)) {
        up = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (up) {
      return {
        url,
        version,
        close: async () => {
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
          if (child.exitCode === null) child.kill('SIGKILL');
          await rm(prefix, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    lastError = await readFile(path.join(prefix, 'error.log'), 'utf8').catch(() => '');
  }
  await rm(prefix, { recursive: true, force: true });
  throw new Error(`nginx did not start: ${lastError.trim().slice(-500)}`);
}
