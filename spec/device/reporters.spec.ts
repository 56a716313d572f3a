/** FileReporter (caps, rotation) and HttpReporter (JSON posts, bounded, queued when offline). */
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReportEvent } from '../../src/device/reporter.js';
import { eventLine, FileReporter } from '../../src/device/reporters/file-reporter.js';
import { HttpReporter } from '../../src/device/reporters/http-reporter.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-report-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const event = (n: number): ReportEvent => ({
  phase: 'writing',
  updateId: `u${n}`,
  result: 'pending',
});

describe('FileReporter', () => {
  it('appends JSON lines and rotates before the cap', async () => {
    const file = path.join(dir, 'events.jsonl');
    const reporter = new FileReporter({ file, maxBytes: 400, maxFiles: 2 });
    for (let i = 0; i < 30; i++) await reporter.report(event(i));
    const names = (await fs.readdir(dir)).sort();
    expect(names).toEqual(['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
    for (const name of names)
      expect((await fs.stat(path.join(dir, name))).size).toBeLessThanOrEqual(400);
    const current = await reporter.readAll();
    expect(current.at(-1)?.updateId).toBe('u29');
  });

  it('caps one line, trimming the log tail first', () => {
    const big: ReportEvent = {
      phase: 'failed',
      error: { code: 'E', message: 'm'.repeat(5000) },
      logTail: Array(100).fill('x'.repeat(100)),
    };
    const line = eventLine(big, 2048);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(2048);
    expect(JSON.parse(line).phase).toBe('failed');
  });

  it('never throws, even when the file cannot be written', async () => {
    const reporter = new FileReporter({ file: path.join(dir, 'missing-dir', 'e.jsonl') });
    await expect(reporter.report(event(1))).resolves.toBeUndefined();
  });
});

describe('HttpReporter', () => {
  let server: Server;
  let url: string;
  let received: unknown[];
  let mode: 'ok' | 'fail' | 'hang';
  beforeEach(async () => {
    received = [];
    mode = 'ok';
    server = createServer(async (req: IncomingMessage, res) => {
      if (mode === 'hang') return; // never answers
      let body = '';
      for await (const chunk of req) body += chunk;
      if (mode === 'fail') {
        res.statusCode = 500;
        res.end();
        return;
      }
      received.push({
        type: req.headers['content-type'],
        method: req.method,
        body: JSON.parse(body),
      });
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('posts each event as JSON', async () => {
    await new HttpReporter({ url }).report(event(1));
    expect(received).toEqual([{ type: 'application/json', method: 'POST', body: event(1) }]);
  });

  it('queues undelivered events and sends them first, in order, once the server is back', async () => {
    const reporter = new HttpReporter({ url, queueFile: path.join(dir, 'queue.jsonl') });
    mode = 'fail';
    await reporter.report(event(1));
    await reporter.report(event(2));
    expect(received).toEqual([]);
    mode = 'ok';
    await reporter.report(event(3));
    expect(received.map((r) => (r as { body: ReportEvent }).body.updateId)).toEqual([
      'u1',
      'u2',
      'u3',
    ]);
    await expect(fs.stat(path.join(dir, 'queue.jsonl'))).rejects.toThrow();
  });

  it('gives up on a server that never answers, without failing', async () => {
    mode = 'hang';
    const reporter = new HttpReporter({
      url,
      timeoutMs: 100,
      queueFile: path.join(dir, 'q.jsonl'),
    });
    await expect(reporter.report(event(1))).resolves.toBeUndefined();
    expect(
      (await new FileReporter({ file: path.join(dir, 'q.jsonl') }).readAll()).map(
        (e) => e.updateId,
      ),
    ).toEqual(['u1']);
  });
});
