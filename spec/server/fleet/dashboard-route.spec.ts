/**
 * The dashboard plugin over a build directory made here: what it serves at `/ui/`, with which
 * caching and security headers, and that no request path reaches the file system.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_CACHE_IMMUTABLE,
  DASHBOARD_CSP,
  dashboardRoute,
  defaultDashboardRoot,
} from '../../../src/server/fleet/dashboard-route.js';
import { PROJECT_ROOT } from '../../helpers/vectors.js';

const INDEX =
  '<!doctype html><title>tufota fleet</title><script type="module" src="/ui/assets/index-abc123.js"></script>';
const SCRIPT = 'console.log("dashboard")';

let dir: string;
let app: FastifyInstance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tufota-dashboard-'));
  const build = join(dir, 'build');
  await mkdir(join(build, 'assets'), { recursive: true });
  await writeFile(join(build, 'index.html'), INDEX);
  await writeFile(join(build, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(dir, 'secret.txt'), 'outside the build');
  // A link out of the build directory must not be followed.
  await symlink(join(dir, 'secret.txt'), join(build, 'assets', 'leak.js'));
  app = Fastify({ logger: false });
  await app.register(dashboardRoute, { root: build });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dashboardRoute', () => {
  it('serves index.html at /ui/ with a strict CSP, revalidated on every load', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toMatch(/^default-src 'self'; /);
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    const again = await app.inject({
      method: 'GET',
      url: '/ui/',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('answers client routes with index.html so pages can be reloaded and bookmarked', async () => {
    for (const url of ['/ui/devices/vin-1', '/ui/deployments/d-1?x=1', '/ui/audit']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(INDEX);
    }
  });

  it('caches hashed assets as immutable', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/assets/index-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(SCRIPT);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe(DASHBOARD_CACHE_IMMUTABLE);
    const head = await app.inject({ method: 'HEAD', url: '/ui/assets/index-abc123.js' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(SCRIPT.length));
  });

  it('answers a missing asset 404, never index.html as script', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/assets/index-old.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'ERR_TUF_FLEET_NOT_FOUND' } });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('serves nothing outside the build: traversal and symlinks get index.html or 404', async () => {
    for (const url of [
      '/ui/../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/..%2fsecret.txt',
      '/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/ui/%E0%A4%A',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('outside the build');
      expect([200, 400, 404], url).toContain(res.statusCode);
      if (res.statusCode === 200) expect(res.body, url).toBe(INDEX);
    }
    const link = await app.inject({ method: 'GET', url: '/ui/assets/leak.js' });
    expect(link.statusCode).toBe(404);
    expect(link.body).not.toContain('outside the build');
  });

  it('redirects /ui to /ui/', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui' });
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/ui/');
  });

  it('without a build, the server still starts and /ui/ says how to build it', async () => {
    const bare = Fastify({ logger: false });
    await bare.register(dashboardRoute, { root: join(dir, 'no-such-build') });
    const res = await bare.inject({ method: 'GET', url: '/ui/' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toContain('npm run build');
    await bare.close();
  });

  it('finds the package build directory from the sources', () => {
    expect(defaultDashboardRoot()).toBe(join(PROJECT_ROOT, 'dist', 'dashboard'));
  });
});
