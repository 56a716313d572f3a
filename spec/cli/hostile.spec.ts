/**
 * Hostile and mistaken input to the CLI: each is refused with a clear message, a non-zero exit
 * code, no stack trace — and the repository tree is byte-for-byte unchanged.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildOnce, ok, removeDir, tempDir, treeHash, tufota } from './helpers.js';

describe('tufota CLI: hostile input leaves the repository unchanged', () => {
  let work: string;
  let repo: string;
  let before: string;

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-hostile-');
    repo = path.join(work, 'repo');
    await ok(['init', 'repo', '--keys-dir', 'keys'], work);
    await writeFile(path.join(work, 'fw.img'), 'firmware');
    await writeFile(
      path.join(work, 'garbage.pem'),
      '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n',
    );
    await ok(['key', 'generate', 'stranger.pem'], work);
    await ok(['add-target', '../fw.img', '--path', 'fw.img'], repo); // a staged edit to attack
  });
  beforeEach(async () => {
    before = await treeHash(repo);
  });
  afterAll(async () => removeDir(work));

  async function refused(args: string[], code: string, exit = 1, env?: Record<string, string>) {
    const result = await tufota([...args, '--json'], {
      cwd: repo,
      ...(env === undefined ? {} : { env }),
    });
    expect(result.code, result.stderr).toBe(exit);
    const error = JSON.parse(result.stderr).error as { code: string; message: string };
    expect(error.code).toBe(code);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await treeHash(repo)).toBe(before);
    return error;
  }

  it('a malformed key file', async () => {
    const error = await refused(['publish', '--key', '../garbage.pem'], 'ERR_TUF_KEY_FILE');
    expect(error.message).toContain('garbage.pem');
    const plain = await tufota(['publish', '--key', '../garbage.pem'], { cwd: repo });
    expect(plain.stderr).toMatch(/^error: key file .*garbage\.pem/);
    expect(plain.stderr).toContain(
      'hint: the file is damaged (truncated or altered), which no password fixes',
    );
  });

  it('a wrong password, for a --key file and for a keyring key', async () => {
    const env = { TUFOTA_KEY_PASSWORD: 'wrong password' };
    const error = await refused(
      ['publish', '--key', '../keys/targets.pem'],
      'ERR_TUF_KEY_FILE',
      1,
      env,
    );
    expect(error.message).toMatch(/wrong password/);
    await refused(['publish'], 'ERR_TUF_KEY_FILE', 1, env);
  });

  it('no password at all, without a terminal to ask on', async () => {
    const error = await refused(['publish'], 'ERR_TUF_KEY_FILE', 1, { TUFOTA_KEY_PASSWORD: '' });
    expect(error.message).toContain('TUFOTA_KEY_PASSWORD');
  });

  it.each([['../../etc/passwd'], ['/etc/passwd'], ['a/./b'], ['a//b']])(
    'a target path escaping the repository: %s',
    async (targetPath) => {
      await refused(['add-target', '../fw.img', '--path', targetPath], 'ERR_TUF_UNSAFE_PATH');
    },
  );

  it('a signature from a key the role does not trust, imported or signed directly', async () => {
    await ok(['prepare', '--out', '../carry'], repo);
    before = await treeHash(repo);
    await ok(['sign', 'carry/targets.json', '--key', 'stranger.pem'], work);
    const error = await refused(['import', '../carry/targets.json'], 'ERR_TUF_KEY_NOT_AUTHORIZED');
    expect(error.message).toContain('not trusted to sign targets');
    await refused(
      ['sign', '--role', 'targets', '--key', '../stranger.pem'],
      'ERR_TUF_KEY_NOT_AUTHORIZED',
    );
  });

  it('a carried file whose signed portion was changed', async () => {
    const carried = path.join(work, 'carry', 'targets.json');
    const md = JSON.parse(await readFile(carried, 'utf8'));
    md.signed.targets['fw.img'].length = 1;
    await writeFile(carried, JSON.stringify(md));
    const error = await refused(['import', '../carry/targets.json'], 'ERR_TUF_INVALID_STATE');
    expect(error.message).toContain('different targets than the one staged');
  });

  it('a threshold above the number of keys', async () => {
    const error = await refused(
      ['rotate', 'targets', '--threshold', '5'],
      'ERR_TUF_THRESHOLD_UNREACHABLE',
    );
    expect(error.message).toContain('threshold 5');
    await refused(['rotate', 'timestamp', '--threshold', '0'], 'ERR_TUF_USAGE', 2);
    const init = await tufota(['init', 'other', '--threshold', 'root=2', '--json'], { cwd: work });
    expect(init.code).toBe(2);
    expect(JSON.parse(init.stderr).error.message).toContain('cannot be met with 1 key');
    await expect(readFile(path.join(work, 'other-keys', 'root.pem'))).rejects.toThrow();
  });

  it('init over an existing repository', async () => {
    await refused(['init', '.'], 'ERR_TUF_INVALID_STATE');
  });

  it('a malformed configuration file is a usage error naming the file', async () => {
    const configFile = path.join(repo, '.tufota', 'cli.json');
    const saved = await readFile(configFile);
    await writeFile(configFile, '{"keys": {"zz": {"path": "x"}}}');
    before = await treeHash(repo);
    const error = await refused(['status'], 'ERR_TUF_USAGE', 2);
    expect(error.message).toContain('cli.json');
    await writeFile(configFile, saved);
  });

  it('TUFOTA_DEBUG=1 adds the stack trace', async () => {
    const result = await tufota(['publish', '--key', '../garbage.pem'], {
      cwd: repo,
      env: { TUFOTA_DEBUG: '1' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});
