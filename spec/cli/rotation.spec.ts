/**
 * Key rotation through the CLI, judged by clients that still hold the first root: replacing a
 * compromised targets key, and rotating the root key itself (N+1.root.json signed by a threshold
 * of the old and of the new root keys, TUF 5.3.4).
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer, type StaticServer } from '../../src/server/index.js';
import { buildOnce, Client, ok, removeDir, tempDir } from './helpers.js';

async function keyidOf(file: string): Promise<string> {
  return (JSON.parse(await readFile(file, 'utf8')) as { keyid: string }).keyid;
}

describe('tufota CLI: key rotation with clients holding an old root', () => {
  let work: string;
  let repo: string;
  let server: StaticServer;
  let root1: Uint8Array;
  let client: Client;

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-rotate-');
    repo = path.join(work, 'repo');
    await ok(['init', 'repo', '--keys-dir', 'keys'], work);
    server = await createStaticServer({ root: repo });
    await writeFile(path.join(work, 'fw.img'), 'v1');
    await ok(['add-target', '../fw.img', '--path', 'fw.img', '--publish'], repo);
    root1 = await readFile(path.join(repo, 'metadata', '1.root.json'));
    client = await Client.create(server.url, root1);
    expect(Buffer.from(await client.download('fw.img')).toString()).toBe('v1');
  });
  afterAll(async () => {
    await client.remove();
    await server.close();
    await removeDir(work);
  });

  it('replaces a compromised targets key: root v2 trusts only the new key, the client follows', async () => {
    const old = await keyidOf(path.join(work, 'keys', 'targets.pub.json'));
    const generated = await ok(['key', 'generate', '../keys/targets-new.pem', '--json'], repo);
    const rotated = await ok(
      [
        'rotate',
        'targets',
        '--add-key',
        '../keys/targets-new.pem',
        '--revoke-key',
        old,
        '--publish',
        '--json',
      ],
      repo,
    );
    expect(rotated.json.after.keyids).toEqual([generated.json.keyid]);
    const root2 = JSON.parse(await readFile(path.join(repo, 'metadata', '2.root.json'), 'utf8'));
    expect(root2.signed.roles.targets.keyids).toEqual([generated.json.keyid]);
    await writeFile(path.join(work, 'fw.img'), 'v2');
    await ok(['add-target', '../fw.img', '--path', 'fw-2.img', '--publish'], repo);
    expect(Buffer.from(await client.download('fw-2.img')).toString()).toBe('v2');
    expect(await client.trusted('root')).toBe(2);
    // The new key is in the keyring: no --key needed.
    const config = JSON.parse(await readFile(path.join(repo, '.tufota', 'cli.json'), 'utf8'));
    expect(Object.keys(config.keys)).toContain(generated.json.keyid);
  });

  it('rotates the root key: N+1.root.json carries the old and the new root signatures', async () => {
    const oldRoot = await keyidOf(path.join(work, 'keys', 'root.pub.json'));
    const fresh = await ok(['key', 'generate', '../keys/root-2.pem', '--json'], repo);
    await ok(['rotate', 'root', '--add-key', '../keys/root-2.pem', '--revoke-key', oldRoot], repo);
    const status = await ok(['status', '--json'], repo);
    const root = status.json.roles.find((r: { role: string }) => r.role === 'root');
    expect(root.requirements.map((r: { label: string }) => r.label)).toEqual([
      'root version 3',
      'previous root version 2',
    ]);
    await ok(['publish'], repo);
    const root3 = JSON.parse(await readFile(path.join(repo, 'metadata', '3.root.json'), 'utf8'));
    expect(root3.signed.roles.root.keyids).toEqual([fresh.json.keyid]);
    expect(root3.signatures.map((s: { keyid: string }) => s.keyid).sort()).toEqual(
      [oldRoot, fresh.json.keyid].sort(),
    );
    await client.refresh();
    expect(await client.trusted('root')).toBe(3);
    // A device provisioned with root v1 long ago walks the whole chain.
    const late = await Client.create(server.url, root1);
    expect(Buffer.from(await late.download('fw-2.img')).toString()).toBe('v2');
    expect(await late.trusted('root')).toBe(3);
    await late.remove();
    expect((await ok(['verify', '--json'], repo)).json.roles[0]).toMatchObject({
      role: 'root',
      version: 3,
    });
  });

  it('changes a threshold: rotate targets --add-key … --threshold 2', async () => {
    await ok(['key', 'generate', '../keys/targets-b.pem'], repo);
    const result = await ok(
      [
        'rotate',
        'targets',
        '--add-key',
        '../keys/targets-b.pem',
        '--threshold',
        '2',
        '--publish',
        '--json',
      ],
      repo,
    );
    expect(result.json.after.threshold).toBe(2);
    await writeFile(path.join(work, 'fw.img'), 'v3');
    await ok(['add-target', '../fw.img', '--path', 'fw-3.img', '--publish'], repo);
    expect(Buffer.from(await client.download('fw-3.img')).toString()).toBe('v3');
  });
});
