/**
 * Repository edits through the real executable that the first CLI cut lacked or left untested:
 * removing a delegation, `refresh --stage-only` when only snapshot and timestamp are due,
 * all-or-nothing `import` of several files, targets listed from length and hashes alone,
 * expiry periods changed after init, hash bins created and resized, and a keyring key that is an
 * external signing command. What is served is judged by both clients (tuf-js and our Updater).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer, type StaticServer } from '../../src/server/index.js';
import { buildOnce, Client, keyidOf, ok, removeDir, tempDir, treeHash, tufota } from './helpers.js';

describe('tufota CLI: delegation removal, staged refresh, batch import, target info, config, bins, signing commands', () => {
  let work: string;
  let repo: string;
  let server: StaticServer;
  let client: Client;

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-edit-');
    repo = path.join(work, 'repo');
    await ok(['init', 'repo', '--keys-dir', 'keys'], work);
    server = await createStaticServer({ root: repo });
    client = await Client.create(
      server.url,
      await readFile(path.join(repo, 'metadata', '1.root.json')),
    );
  });
  afterAll(async () => {
    await client.remove();
    await server.close();
    await removeDir(work);
  });

  it('delegate --remove: clients stop finding its targets; snapshot keeps it listed', async () => {
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
    await writeFile(path.join(work, 'v.bin'), 'vendor');
    await ok(
      ['add-target', '../v.bin', '--path', 'vendor/v.bin', '--role', 'vendor', '--publish'],
      repo,
    );
    expect(await client.lookup('vendor/v.bin')).toBeDefined();

    const refused = await tufota(['delegate', 'vendor', '--remove', '--paths', 'x/*'], {
      cwd: repo,
    });
    expect(refused.code).toBe(2);
    const unknown = await tufota(['delegate', 'nobody', '--remove', '--json'], { cwd: repo });
    expect(JSON.parse(unknown.stderr).error.code).toBe('ERR_TUF_INVALID_STATE');

    const removed = await ok(['delegate', 'vendor', '--remove', '--json'], repo);
    expect(removed.json.removed).toEqual(['vendor']);
    expect(removed.json.droppedKeys).toEqual([
      await keyidOf(path.join(work, 'keys', 'vendor.pub.json')),
    ]);
    expect(removed.json.staged).toEqual(['targets']);
    await ok(['publish'], repo);
    expect(await client.lookup('vendor/v.bin')).toBeUndefined();
    const timestamp = JSON.parse(
      await readFile(path.join(repo, 'metadata', 'timestamp.json'), 'utf8'),
    );
    const snapshot = JSON.parse(
      await readFile(
        path.join(
          repo,
          'metadata',
          `${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`,
        ),
        'utf8',
      ),
    );
    expect(snapshot.signed.meta['vendor.json']).toMatchObject({ version: 2 });
    expect((await ok(['verify'], repo)).code).toBe(0);
  });

  it('refresh --stage-only with only snapshot and timestamp due: the next publish re-signs them', async () => {
    const staged = await ok(['refresh', '--within', '8d', '--stage-only', '--json'], repo);
    expect(staged.json.roles).toEqual(['snapshot', 'timestamp']);
    expect(staged.json.resign).toEqual(['snapshot', 'timestamp']);
    const status = await ok(['status', '--json'], repo);
    const snapshotStatus = status.json.roles.find((r: { role: string }) => r.role === 'snapshot');
    expect(snapshotStatus.resign).toBe(true);
    const published = await ok(['publish', '--json'], repo);
    expect(published.json.roles.map((r: { role: string }) => r.role)).toEqual([
      'snapshot',
      'timestamp',
    ]);
    await client.refresh();
    expect(await client.trusted('snapshot')).toBe(published.json.roles[0].version);
    // Marks are consumed: nothing is left to publish.
    expect((await ok(['publish', '--json'], repo)).json.roles).toEqual([]);
  });

  it('add-target --length --hash lists a target without its file; the file is placed where it says', async () => {
    const bytes = Buffer.from('made by the build farm');
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const usage = await tufota(
      ['add-target', '--length', String(bytes.length), '--hash', `sha256=${sha256}`],
      { cwd: repo },
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--path');
    const badHash = await tufota(
      ['add-target', '--path', 'farm/a.bin', '--length', '3', '--hash', 'sha256=abc', '--json'],
      { cwd: repo },
    );
    expect(JSON.parse(badHash.stderr).error.code).toBe('ERR_TUF_FORMAT');

    const added = await ok(
      [
        'add-target',
        '--path',
        'farm/a.bin',
        '--length',
        String(bytes.length),
        '--hash',
        `sha256=${sha256}`,
        '--version',
        '2.0.0',
        '--publish',
        '--json',
      ],
      repo,
    );
    expect(added.json.added[0]).toMatchObject({
      path: 'farm/a.bin',
      length: bytes.length,
      hashes: { sha256 },
    });
    expect(added.json.files).toEqual([`targets/farm/${sha256}.a.bin`]);
    expect(await client.lookup('farm/a.bin')).toMatchObject({
      length: bytes.length,
      custom: { version: '2.0.0' },
    });
    // The file was not copied: verify says so, until the build farm's bytes are put in place.
    expect((await tufota(['verify'], { cwd: repo })).code).not.toBe(0);
    await mkdir(path.join(repo, 'targets', 'farm'), { recursive: true });
    await writeFile(path.join(repo, added.json.files[0]), bytes);
    expect(Buffer.from(await client.download('farm/a.bin')).equals(bytes)).toBe(true);
    expect((await ok(['verify'], repo)).code).toBe(0);
  });

  it('config set changes expiry periods after init, validating every value before saving any', async () => {
    const before = await treeHash(repo);
    for (const bad of [
      ['expiry.timestamp=12h', 'expiry.bogus=1d'],
      ['expiry.timestamp=soon'],
      ['expiry.timestamp'],
    ]) {
      expect((await tufota(['config', 'set', ...bad], { cwd: repo })).code).toBe(2);
    }
    const tooShort = await tufota(['config', 'set', 'expiry.timestamp=500ms', '--json'], {
      cwd: repo,
    });
    expect(JSON.parse(tooShort.stderr).error.code).toBe('ERR_TUF_FORMAT');
    expect(await treeHash(repo)).toBe(before);

    const set = await ok(
      ['config', 'set', 'expiry.timestamp=12h', 'expiry.delegated=30d', '--json'],
      repo,
    );
    expect(set.json.expiry).toMatchObject({
      timestamp: 12 * 3_600_000,
      delegated: 30 * 86_400_000,
    });
    expect((await ok(['config', 'show'], repo)).stdout).toMatch(/expiry\.timestamp\s+12h/);
    const started = Date.now();
    await ok(['refresh', '--within', '2d'], repo); // timestamp (1d period at signing) is due
    const timestamp = JSON.parse(
      await readFile(path.join(repo, 'metadata', 'timestamp.json'), 'utf8'),
    );
    const lifetime = new Date(timestamp.signed.expires).getTime() - started;
    expect(lifetime).toBeGreaterThan(11 * 3_600_000);
    expect(lifetime).toBeLessThanOrEqual(12 * 3_600_000 + 60_000);
  });

  it('bins create and resize: targets follow their bin, clients find them before and after', async () => {
    await ok(['key', 'generate', '../keys/bins.pem', '--add'], repo);
    // `targets` still delegates nothing (vendor was removed), so bins can be created.
    const created = await ok(
      [
        'bins',
        'create',
        '--bit-length',
        '2',
        '--add-key',
        '../keys/bins.pub.json',
        '--publish',
        '--json',
      ],
      repo,
    );
    expect(created.json).toMatchObject({ bins: 4, first: 'bins-0', last: 'bins-3' });
    await writeFile(path.join(work, 'one.img'), 'one');
    await writeFile(path.join(work, 'two.img'), 'two');
    await ok(['add-target', '../one.img', '../two.img', '--prefix', 'images/', '--publish'], repo);
    const status = await ok(['status', '--json'], repo);
    expect(
      status.json.roles.filter((r: { role: string }) => r.role.startsWith('bins-')),
    ).toHaveLength(4);
    expect(Buffer.from(await client.download('images/one.img')).toString()).toBe('one');

    expect((await tufota(['bins', 'resize'], { cwd: repo })).code).toBe(2);
    const resized = await ok(['bins', 'resize', '--bit-length', '4', '--publish', '--json'], repo);
    expect(resized.json).toMatchObject({ bins: 16, first: 'bins-0', last: 'bins-f' });
    expect(Buffer.from(await client.download('images/two.img')).toString()).toBe('two');
    // `targets` still lists what it listed itself; bins only get the paths it does not list.
    expect(await client.lookup('farm/a.bin')).toBeDefined();
  });

  it('key add --command: publish signs through the external signing command from the keyring', async () => {
    const tool = path.join(work, 'hsm-sign.mjs');
    await writeFile(
      tool,
      [
        "import { createPrivateKey, sign } from 'node:crypto';",
        "import { appendFileSync, readFileSync } from 'node:fs';",
        "const key = createPrivateKey({ key: readFileSync(process.argv[2], 'utf8'), passphrase: process.env.TUFOTA_KEY_PASSWORD });",
        "appendFileSync(process.argv[3], 'signed\\n');",
        "process.stdout.write(sign(null, readFileSync(0), key).toString('hex'));",
      ].join('\n'),
    );
    const log = path.join(work, 'hsm.log');
    const keyid = await keyidOf(path.join(work, 'keys', 'targets.pub.json'));
    const missing = await tufota(['key', 'add', '--command', process.execPath], { cwd: repo });
    expect(missing.code).toBe(2);
    await ok(
      [
        'key',
        'add',
        '--command',
        process.execPath,
        '--arg',
        tool,
        '--arg',
        path.join(work, 'keys', 'targets.pem'),
        '--arg',
        log,
        '--keyid',
        keyid,
        '--label',
        'hsm',
      ],
      repo,
    );
    const list = await ok(['key', 'list', '--json'], repo);
    const entry = list.json.keys.find((k: { keyid: string }) => k.keyid === keyid);
    expect(entry.source).toBe(`command: ${process.execPath}`);

    // Removing a target that `targets` lists itself is a targets edit: the command signs it.
    const before = (await readFile(log, 'utf8').catch(() => '')).length;
    await ok(['remove-target', 'farm/a.bin', '--publish'], repo);
    expect((await readFile(log, 'utf8')).length).toBeGreaterThan(before);
    expect(await client.lookup('farm/a.bin')).toBeUndefined();
    expect(Buffer.from(await client.download('images/one.img')).toString()).toBe('one');
  });
});
