/**
 * `tufota serve`: serve a repository directory over HTTP until interrupted, with an access log
 * on stdout (one line per request; `--quiet` silences it).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type AccessLogEntry, createStaticServer } from '../../server/index.js';
import { type Command, flag, integerOption, stringOption } from '../args.js';
import { type Io, note, warn } from '../io.js';
import { repoDirOf } from '../session.js';

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'serve the repository over HTTP (ETag, ranges, cache headers; for development and small fleets)',
  usage: 'tufota serve [DIR] [--port N] [--host HOST] [--quiet]',
  description: [
    'Prints the URL; clients use URL/metadata/ and URL/targets/. Listens on 127.0.0.1 unless --host',
    'says otherwise. Put TLS in front of it (a reverse proxy or CDN) for real fleets.',
    'Logs each request on stdout: time, method, path, status, body bytes, duration',
    '(with --json, one JSON object per line). Warns when DIR holds no repository.',
  ].join('\n'),
  options: {
    port: {
      type: 'string',
      short: 'p',
      valueName: 'N',
      description: 'TCP port (default 8080; 0 picks a free one)',
    },
    host: {
      type: 'string',
      valueName: 'HOST',
      description: 'interface to listen on (default 127.0.0.1)',
    },
    quiet: {
      type: 'boolean',
      short: 'q',
      description: 'no access log',
    },
  },
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const root = repoDirOf(args, io, args.positionals[0]);
    const quiet = flag(args, 'quiet');
    const server = await createStaticServer({
      root,
      host: stringOption(args, 'host') ?? '127.0.0.1',
      port: integerOption(args, 'port', 0, 65535) ?? 8080,
      ...(quiet ? {} : { onResponse: (entry) => io.stdout.write(accessLogLine(io, entry)) }),
    });
    const result = {
      url: server.url,
      metadataUrl: `${server.url}/metadata/`,
      targetsUrl: `${server.url}/targets/`,
      root,
    };
    // One line either way, so that with --json stdout is JSON lines (the result, then the log).
    io.stdout.write(`${io.json ? JSON.stringify(result) : server.url}\n`);
    const problem = await missingRepository(root);
    if (problem !== undefined) warn(io, problem);
    note(io, `serving ${root}; press Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().finally(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};

/**
 * `2026-01-01T12:00:00.000Z GET /metadata/timestamp.json 200 1234 0.8ms` (bytes `-` when the
 * client went away before the end), or the entry as one JSON line with `--json`.
 */
export function accessLogLine(io: Pick<Io, 'json'>, entry: AccessLogEntry): string {
  const duration = Math.round(entry.durationMs * 10) / 10;
  if (io.json) {
    return `${JSON.stringify({
      time: entry.time.toISOString(),
      method: entry.method,
      path: entry.path,
      status: entry.status,
      bytes: entry.bytes ?? null,
      durationMs: duration,
    })}\n`;
  }
  // The path is client-chosen: JSON-quote anything a terminal or log parser could misread.
  const shownPath = /^[\x21-\x7e]*$/.test(entry.path) ? entry.path : JSON.stringify(entry.path);
  return `${entry.time.toISOString()} ${entry.method} ${shownPath} ${entry.status} ${entry.bytes ?? '-'} ${duration}ms\n`;
}

/**
 * Why `root` does not look like a repository (clients would get only 404s), or `undefined`.
 * A repository has `metadata/timestamp.json` or a `metadata/N.root.json`.
 */
async function missingRepository(root: string): Promise<string | undefined> {
  const names = async (dir: string) => fs.readdir(dir).catch((): string[] => []);
  const metadata = await names(path.join(root, 'metadata'));
  if (metadata.some((name) => name === 'timestamp.json' || /^\d+\.root\.json$/.test(name))) {
    return undefined;
  }
  const here = await names(root);
  const advice = here.some((name) => name === 'timestamp.json' || /^\d+\.root\.json$/.test(name))
    ? `this looks like the metadata/ directory itself: serve its parent (${path.dirname(root)})`
    : 'serve the directory tufota init created (the one holding metadata/ and targets/), or create one with tufota init';
  return `${root} holds no repository (no metadata/timestamp.json or metadata/N.root.json): clients will get 404 for everything; ${advice}`;
}
