/**
 * `dashboardRoute`: a Fastify plugin that serves the built operator dashboard (`dashboard/`,
 * built by `npm run build` into `dist/dashboard/`) at `/ui/` on the fleet server (issue 15).
 *
 * - The files are read once, when the plugin registers, into memory (a few hundred KiB, capped):
 *   a request is a map lookup, so no request path ever reaches the file system and no traversal
 *   is possible.
 * - Client routes (`/ui/devices/vin-1`) answer index.html, so the single-page app can be
 *   reloaded and bookmarked anywhere; a missing file under `/ui/assets/` is a 404, never
 *   index.html (a stale hashed asset must fail loudly, not run HTML as script).
 * - Hashed assets are cached as immutable for a year; index.html is revalidated every time
 *   (`no-cache` + ETag), so a new build is picked up at the next load.
 * - Every answer carries a strict Content-Security-Policy (`default-src 'self'`: no inline
 *   script, nothing from other origins; `img-src` adds `data:` only for the CSS library's inline
 *   SVG icons) and refuses framing.
 *
 * The dashboard talks to the admin API only, with the bearer token it holds in sessionStorage;
 * this plugin serves public static files and authenticates nothing.
 *
 * Safe for concurrent use (read-only after registration).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the dashboard is served. */
export const DASHBOARD_PREFIX = '/ui';

/** The Content-Security-Policy of every dashboard answer. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Cache-Control of content-hashed assets (`/ui/assets/index-3f2a….js`). */
export const DASHBOARD_CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
/** Cache-Control of index.html and other unhashed files. */
export const DASHBOARD_CACHE_REVALIDATE = 'no-cache';

/** Bounds on what is loaded into memory: a build is ~200 KiB in a handful of files. */
const MAX_FILES = 500;
const MAX_TOTAL_BYTES = 32 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface DashboardFile {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

/** Options of {@link dashboardRoute}. */
export interface DashboardRouteOptions {
  /** The built dashboard directory (default: `dist/dashboard` of this package). */
  root?: string;
}

/**
 * The package's `dist/dashboard`, found by walking up from this module to the `tufota`
 * package.json — the same answer from `src/` (tests) and from `dist/src/` (installed).
 */
export function defaultDashboardRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'tufota') {
          return join(dir, 'dist', 'dashboard');
        }
      } catch {
        // not ours: keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dashboard');
}

async function loadFiles(root: string): Promise<Map<string, DashboardFile>> {
  const files = new Map<string, DashboardFile>();
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
        continue;
      }
      if (!entry.isFile()) continue; // symlinks and others: not served
      const body = await fs.readFile(path);
      total += body.length;
      if (files.size >= MAX_FILES || total > MAX_TOTAL_BYTES) {
        throw new Error(`the dashboard at ${root} exceeds ${MAX_FILES} files or 32 MiB`);
      }
      const name = relative(root, path).split(sep).join('/');
      files.set(name, {
        body,
        type: TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        cache: name.startsWith('assets/') ? DASHBOARD_CACHE_IMMUTABLE : DASHBOARD_CACHE_REVALIDATE,
      });
    }
  };
  await walk(root);
  return files;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** The path below `/ui/`, decoded; `undefined` when it cannot be decoded. */
function subPath(url: string): string | undefined {
  const path = url.split('?', 1)[0] ?? '';
  const below = path.slice(DASHBOARD_PREFIX.length + 1);
  try {
    return decodeURIComponent(below);
  } catch {
    return undefined;
  }
}

/**
 * Register the dashboard at `/ui/` (use with `app.register`). A missing build is not fatal: the
 * server runs, logs a warning once, and `/ui/` answers 404 saying how to build it.
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await app.register(dashboardRoute, { root: 'dist/dashboard' });
 * ```
 */
export async function dashboardRoute(
  app: FastifyInstance,
  options: DashboardRouteOptions = {},
): Promise<void> {
  const root = options.root ?? defaultDashboardRoot();
  let files = new Map<string, DashboardFile>();
  try {
    files = await loadFiles(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const index = files.get('index.html');
  if (index === undefined) {
    app.log.warn(`the dashboard is not built (no ${join(root, 'index.html')}): /ui/ answers 404`);
  }

  app.get(DASHBOARD_PREFIX, async (_request, reply) =>
    securityHeaders(reply).redirect(`${DASHBOARD_PREFIX}/`, 301),
  );

  app.get(`${DASHBOARD_PREFIX}/*`, async (request, reply) => {
    securityHeaders(reply);
    const name = subPath(request.raw.url ?? '');
    let file = name === undefined || name === '' ? index : files.get(name);
    if (file === undefined && name !== undefined && !name.startsWith('assets/')) file = index;
    if (file === undefined) {
      const message =
        index === undefined
          ? 'the dashboard is not built: run `npm run build` (it writes dist/dashboard/)'
          : `no dashboard file ${request.url}`;
      return reply
        .code(404)
        .header('cache-control', 'no-store')
        .send({ error: { code: 'ERR_TUF_FLEET_NOT_FOUND', message } });
    }
    reply.header('content-type', file.type).header('cache-control', file.cache);
    reply.header('etag', file.etag);
    const match = request.headers['if-none-match'];
    if (match?.split(/\s*,\s*/).includes(file.etag) === true) {
      return reply.code(304).send();
    }
    return reply.send(file.body);
  });
}
