/**
 * The fleet server's CLI in process: `tufota server init` writes a configuration and prints the
 * admin token once; `tufota audit verify` passes on an intact chain and, after a row is changed
 * or removed directly in the SQLite file, exits 3 naming the first bad seq; `tufota server ca`
 * makes the CA and certificates; `--help` documents the configuration.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/run.js';
import { sha256Hex } from '../../../src/server/fleet/tokens.js';
import { openFleetStore } from '../../../src/server/store/index.js';

let dir: string;

async function tufota(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const io: Io = { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: dir, json: false };
  const code = await runCli(argv, io);
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-fleet-cli-'));
  await fs.mkdir(path.join(dir, 'repo', 'metadata'), { recursive: true });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('tufota server and tufota audit', () => {
  const config = () => path.join(dir, 'server.json');

  it('documents every configuration option in --help', async () => {
    const help = await tufota(['server', '--help']);
    expect(help.code).toBe(0);
    for (const option of [
      'repository.dir',
      'provisioning.modes',
      'tls.cert',
      'logs.retention',
      'limits.body',
      'logLevel',
      'TUFOTA_SERVER_DATABASE_URL',
      '--unsafe-shared-key',
      '--log-level',
    ]) {
      expect(help.stdout).toContain(option);
    }
    expect((await tufota(['audit', '--help'])).stdout).toMatch(/^usage: tufota audit verify/);
    const typo = await tufota(['server', 'strat']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean server start?');
  });

  it('init writes the configuration, the database and prints the admin token once', async () => {
    const result = await tufota([
      'server',
      'init',
      '--config',
      config(),
      '--repository',
      path.join(dir, 'repo'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const token = /tfa_[A-Za-z0-9_-]{43}/.exec(result.stdout)?.[0] as string;
    expect(token).toBeDefined();
    const written = JSON.parse(await fs.readFile(config(), 'utf8'));
    expect(written.host).toBe('127.0.0.1');
    const store = await openFleetStore({
      backend: 'sqlite',
      path: path.join(dir, 'data', 'fleet.db'),
    });
    try {
      expect((await store.findTokenBySha256(sha256Hex(token)))?.userId).toBe('admin');
      expect(JSON.stringify(await store.listTokens({}))).not.toContain(token);
      expect((await store.listAudit()).map((e) => e.action)).toEqual([
        'user.create',
        'token.create',
      ]);
    } finally {
      await store.close();
    }
    const again = await tufota(['server', 'init', '--config', config()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already initialized');
  });

  it('audit verify passes on the intact chain and names the first tampered row', async () => {
    const store = await openFleetStore({
      backend: 'sqlite',
      path: path.join(dir, 'data', 'fleet.db'),
    });
    for (let i = 0; i < 3; i += 1) {
      await store.appendAudit({
        actor: 'user:admin',
        action: 'device.update',
        subject: `device:d${i}`,
        at: new Date().toISOString(),
        after: { i },
      });
    }
    await store.close();
    const ok = await tufota(['audit', 'verify', '--config', config()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('intact: 5 entries');

    const db = new Database(path.join(dir, 'data', 'fleet.db'));
    db.prepare('UPDATE audit_log SET actor = ? WHERE seq = 3').run('user:mallory');
    db.close();
    const changed = await tufota(['audit', 'verify', '--config', config()]);
    expect(changed.code).toBe(3);
    expect(changed.stdout).toContain('BROKEN at seq 3 (changed)');

    const db2 = new Database(path.join(dir, 'data', 'fleet.db'));
    db2.prepare("UPDATE audit_log SET actor = 'user:admin' WHERE seq = 3").run();
    db2.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    db2.close();
    const removed = await tufota(['audit', 'verify', '--config', config(), '--json']);
    expect(removed.code).toBe(3);
    expect(JSON.parse(removed.stdout)).toMatchObject({ ok: false, seq: 2, reason: 'removed' });
  });

  it('ca init and ca issue write the CA, a device certificate and the server certificate', async () => {
    expect((await tufota(['server', 'ca', 'init', '--config', config()])).code).toBe(0);
    const device = await tufota([
      'server',
      'ca',
      'issue',
      '--config',
      config(),
      '--device',
      'vin-9',
      '--out',
      path.join(dir, 'dev'),
    ]);
    expect(device.code, device.stderr).toBe(0);
    expect(await fs.readdir(path.join(dir, 'dev'))).toEqual(['vin-9.crt', 'vin-9.key']);
    const server = await tufota([
      'server',
      'ca',
      'issue',
      '--config',
      config(),
      '--server',
      '127.0.0.1',
    ]);
    expect(server.code, server.stderr).toBe(0);
    expect((await fs.readdir(path.join(dir, 'data', 'tls'))).sort()).toEqual([
      'server.crt',
      'server.key',
    ]);
    const bad = await tufota(['server', 'ca', 'issue', '--config', config()]);
    expect(bad.code).toBe(2);
  });
});
