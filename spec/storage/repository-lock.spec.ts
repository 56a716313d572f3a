/**
 * The repository lock: exclusive, names its holder, recovers a lock whose holder died on this
 * host (and only then), never removes another holder's lock, and is released on SIGINT.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RepositoryLock } from '../../src/storage/repository-lock.js';
import { buildOnce, ROOT } from '../cli/helpers.js';
import { removeDir, tempDir } from '../repository/helpers.js';

let dir: string;
let lockFile: string;
beforeEach(async () => {
  dir = await tempDir('tufota-lock-');
  lockFile = path.join(dir, '.tufota', 'lock');
});
afterEach(async () => removeDir(dir));

/** The pid of a process that has exited (reuse within the test is vanishingly unlikely). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

async function writeRecord(record: Record<string, unknown>): Promise<void> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  await writeFile(lockFile, JSON.stringify(record));
}

describe('RepositoryLock', () => {
  it('is exclusive and the error names the holder; released, it can be taken again', async () => {
    const first = await RepositoryLock.acquire(dir, { command: 'tufota publish' });
    const record = JSON.parse(await readFile(lockFile, 'utf8'));
    expect(record).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
      command: 'tufota publish',
    });
    await expect(
      RepositoryLock.acquire(dir, { command: 'tufota add-target' }),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_REPOSITORY_LOCKED',
      holder: { pid: process.pid, command: 'tufota publish' },
      message: expect.stringContaining('locked by "tufota publish"'),
    });
    await first.release();
    expect(existsSync(lockFile)).toBe(false);
    const second = await RepositoryLock.acquire(dir, { command: 'again' });
    await second.release();
  });

  it('waits for a holder that finishes within --wait', async () => {
    const first = await RepositoryLock.acquire(dir, { command: 'first' });
    const waiting = RepositoryLock.acquire(dir, { command: 'second', waitMs: 60_000 });
    setImmediate(() => void first.release());
    const second = await waiting;
    expect(JSON.parse(await readFile(lockFile, 'utf8')).command).toBe('second');
    await second.release();
  });

  it('takes over a lock whose holder died on this host', async () => {
    await writeRecord({
      pid: deadPid(),
      hostname: hostname(),
      command: 'tufota publish',
      startedAt: '2030-01-01T00:00:00.000Z',
      token: 'dead',
    });
    const lock = await RepositoryLock.acquire(dir, { command: 'recovering' });
    expect(JSON.parse(await readFile(lockFile, 'utf8')).token).toBe(lock.holder.token);
    await lock.release();
  });

  it('does not take over a lock from another host, and says which file to remove', async () => {
    await writeRecord({
      pid: deadPid(),
      hostname: 'build-server-7',
      command: 'tufota publish',
      startedAt: '2030-01-01T00:00:00.000Z',
      token: 'remote',
    });
    await expect(RepositoryLock.acquire(dir, { command: 'x' })).rejects.toMatchObject({
      code: 'ERR_TUF_REPOSITORY_LOCKED',
      message: expect.stringMatching(/on host build-server-7.*remove .*lock/),
    });
    expect(JSON.parse(await readFile(lockFile, 'utf8')).token).toBe('remote');
  });

  it('refuses an unreadable lock file rather than guessing', async () => {
    await mkdir(path.dirname(lockFile), { recursive: true });
    await writeFile(lockFile, '');
    await expect(RepositoryLock.acquire(dir, { command: 'x' })).rejects.toMatchObject({
      code: 'ERR_TUF_REPOSITORY_LOCKED',
      message: expect.stringContaining('no readable record'),
    });
  });

  it('release leaves a lock that is no longer its own', async () => {
    const lock = await RepositoryLock.acquire(dir, { command: 'mine' });
    await writeRecord({ ...lock.holder, token: 'someone-else' });
    await lock.release();
    expect(JSON.parse(await readFile(lockFile, 'utf8')).token).toBe('someone-else');
  });

  it('a CLI command interrupted by SIGINT releases the lock', async () => {
    await buildOnce();
    // A locking command whose run never ends, wrapped as every mutating command is.
    const script = `
      import { withRepositoryLock } from ${JSON.stringify(path.join(ROOT, 'dist/src/cli/lock.js'))};
      const command = withRepositoryLock({ name: 'hang', summary: '', usage: '', description: '',
        options: {}, positionals: { min: 0, max: 0 },
        run: () => { process.stdout.write('locked\\n'); return new Promise(() => setInterval(() => {}, 1000)); } });
      await command.run({ values: { repo: ${JSON.stringify(dir)} }, positionals: [] },
        { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, json: false });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`exited early (${code})`)));
    });
    expect(existsSync(lockFile)).toBe(true);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    child.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    expect(existsSync(lockFile)).toBe(false);
  });
});
