/**
 * The admin workflow through the real executable: init with generated encrypted keys, add
 * targets with tufota's custom conventions, publish, verify, serve — and both independent clients
 * (tuf-js 4 and our Updater) download every target from what `tufota serve`'s server sends.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer, type StaticServer } from '../../src/server/index.js';
import { buildOnce, Client, ok, removeDir, tempDir, tufota } from './helpers.js';

describe('tufota CLI: create, add, publish, verify, serve', () => {
  let work: string;
  let repo: string;
  let server: StaticServer;

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-');
    repo = path.join(work, 'repo');
    server = await createStaticServer({ root: work });
  });
  afterAll(async () => {
    await server.close();
    await removeDir(work);
  });

  it('init generates one encrypted key per role, records them in the keyring and publishes v1', async () => {
    const result = await ok(['init', 'repo', '--keys-dir', 'keys', '--json'], work);
    expect(Object.keys(result.json.roles).sort()).toEqual([
      'root',
      'snapshot',
      'targets',
      'timestamp',
    ]);
    for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
      const pem = await readFile(path.join(work, 'keys', `${role}.pem`), 'utf8');
      expect(pem).toContain('BEGIN ENCRYPTED PRIVATE KEY');
      expect((await stat(path.join(work, 'keys', `${role}.pem`))).mode & 0o777).toBe(0o600);
    }
    const config = JSON.parse(await readFile(path.join(repo, '.tufota', 'cli.json'), 'utf8'));
    expect(Object.keys(config.keys)).toHaveLength(4);
    expect(await stat(path.join(repo, 'metadata', '1.root.json'))).toBeTruthy();
  });

  it('add-target stages (metadata unchanged), publish publishes, verify is clean, both clients download', async () => {
    await writeFile(path.join(work, 'fw-a.img'), Buffer.alloc(100_000, 7));
    await writeFile(path.join(work, 'fw-b.img'), 'board b firmware');
    const before = (await stat(path.join(repo, 'metadata', 'timestamp.json'))).mtimeMs;
    const added = await ok(
      [
        'add-target',
        '../fw-a.img',
        '--path',
        'firmware/board-a/1.2.0.img',
        '--hardware-id',
        'board-a',
        '--hardware-id',
        'board-a2',
        '--version',
        '1.2.0',
        '--release-counter',
        '7',
        '--custom',
        '{"notes":"first"}',
        '--json',
      ],
      repo,
    );
    expect(added.json.added[0]).toMatchObject({
      path: 'firmware/board-a/1.2.0.img',
      length: 100_000,
      custom: {
        hardwareIds: ['board-a', 'board-a2'],
        version: '1.2.0',
        releaseCounter: 7,
        notes: 'first',
      },
    });
    expect(added.json.staged).toEqual(['targets']);
    expect((await stat(path.join(repo, 'metadata', 'timestamp.json'))).mtimeMs).toBe(before);
    await ok(['add-target', 'fw-b.img', '--prefix', 'firmware/board-b/', '--repo', 'repo'], work);
    const published = await ok(['publish', '--json'], repo);
    expect(published.json.roles.map((r: { role: string }) => r.role)).toEqual([
      'targets',
      'snapshot',
      'timestamp',
    ]);

    const verify = await ok(['verify', '--json'], repo);
    expect(verify.json.ok).toBe(true);
    expect(verify.json.targets.checked).toBe(2);
    expect(verify.json.targets.files).toBe(4); // sha256 and sha512 copies of each

    const client = await Client.create(
      `${server.url}/repo`,
      await readFile(path.join(repo, 'metadata', '1.root.json')),
    );
    const [a, b] = await client.downloadAll([
      'firmware/board-a/1.2.0.img',
      'firmware/board-b/fw-b.img',
    ]);
    expect(Buffer.from(a!).equals(Buffer.alloc(100_000, 7))).toBe(true);
    expect(Buffer.from(b!).toString()).toBe('board b firmware');
    const info = await client.lookup('firmware/board-a/1.2.0.img');
    expect(info).toBeDefined();
    await client.remove();
  });

  it('status reports every role with its version and signatures; --check passes when all is signed', async () => {
    const status = await ok(['status', '--json', '--check'], repo);
    const roles = Object.fromEntries(status.json.roles.map((r: { role: string }) => [r.role, r]));
    expect(roles.targets).toMatchObject({ version: 2, pending: false, verified: true });
    expect(roles.timestamp.requirements[0]).toMatchObject({ threshold: 1 });
  });

  it('remove-target drops a listing, refresh re-signs a due timestamp, both verified by the clients', async () => {
    await ok(['remove-target', 'firmware/board-b/fw-b.img', '--publish'], repo);
    const refreshed = await ok(['refresh', '--within', '2d', '--json'], repo);
    expect(refreshed.json.roles).toEqual(['timestamp']);
    const client = await Client.create(
      `${server.url}/repo`,
      await readFile(path.join(repo, 'metadata', '1.root.json')),
    );
    expect(await client.lookup('firmware/board-b/fw-b.img')).toBeUndefined();
    expect(await client.lookup('firmware/board-a/1.2.0.img')).toBeDefined();
    await client.remove();
  });

  it('delegates a path to a new role and bins; targets land in the delegated role', async () => {
    await ok(['key', 'generate', '../keys/vendor.pem', '--add'], repo);
    await ok(
      [
        'delegate',
        'vendor',
        '--paths',
        'vendor/*',
        '--add-key',
        '../keys/vendor.pub.json',
        '--publish',
      ],
      repo,
    );
    await writeFile(path.join(work, 'blob.bin'), 'vendor blob');
    const added = await ok(
      [
        'add-target',
        '../blob.bin',
        '--path',
        'vendor/blob.bin',
        '--role',
        'vendor',
        '--publish',
        '--json',
      ],
      repo,
    );
    expect(added.json.added[0].role).toBe('vendor');
    const client = await Client.create(
      `${server.url}/repo`,
      await readFile(path.join(repo, 'metadata', '1.root.json')),
    );
    expect(Buffer.from(await client.download('vendor/blob.bin')).toString()).toBe('vendor blob');
    await client.remove();
    expect((await ok(['verify'], repo)).code).toBe(0);
  });

  it('key list shows which role trusts which key and where it is', async () => {
    const list = await ok(['key', 'list', '--json'], repo);
    const vendor = list.json.keys.find((k: { roles: string[] }) => k.roles.includes('vendor'));
    expect(vendor.source).toContain('vendor.pem');
    const shown = await ok(['key', 'show', vendor.keyid, '--json'], repo);
    expect(shown.json.roles).toEqual(['vendor']);
  });

  it('prints help for every command, and exits 2 on usage errors', async () => {
    const overview = await tufota(['help'], { cwd: work });
    expect(overview.code).toBe(0);
    for (const name of [
      'init',
      'key',
      'add-target',
      'remove-target',
      'delegate',
      'bins',
      'rotate',
      'sign',
      'status',
      'publish',
      'refresh',
      'verify',
      'serve',
    ]) {
      expect(overview.stdout).toContain(name);
      const help = await tufota([name, '--help'], { cwd: work });
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^usage: tufota /);
      expect((await tufota(['help', name], { cwd: work })).stdout).toBe(help.stdout);
    }
    const unknown = await tufota(['frobnicate'], { cwd: work });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown command/);
    const badOption = await tufota(['publish', '--bogus'], { cwd: repo });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('hint: see tufota publish --help');
    const json = await tufota(['status', '--json'], { cwd: work });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr).error.code).toBe('ERR_TUF_INVALID_STATE');
    expect(json.stderr).not.toContain('    at ');
  });

  it('tufota serve prints its URL and serves the repository', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI, PASSWORD } = await import('./helpers.js');
    const child = spawn(process.execPath, [CLI, 'serve', repo, '--port', '0', '--json'], {
      env: { PATH: process.env.PATH, TUFOTA_KEY_PASSWORD: PASSWORD },
    });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('}')) resolve(out);
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      const { url } = JSON.parse(first) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${url}/metadata/timestamp.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(((await response.json()) as { signed: { _type: string } }).signed._type).toBe(
        'timestamp',
      );
      expect((await fetch(`${url}/.tufota/cli.json`)).status).toBe(404);
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
