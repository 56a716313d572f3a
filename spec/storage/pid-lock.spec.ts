/**
 * PidLock: one holder at a time across processes, a refusal that names the holder, and recovery
 * of locks whose holder provably no longer runs (dead pid, another boot, garbage) — never of a
 * live one or one taken on another host.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockHeldError } from '../../src/errors.js';
import { type LockHolder, PidLock, readLockHolder } from '../../src/storage/pid-lock.js';
import { buildOnce, ROOT } from '../cli/helpers.js';

let dir: string;
let file: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-lock-'));
  file = path.join(dir, 'agent.lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await fs.rm(dir, { recursive: true, force: true });
});

/** A holder record as another process would have written it. */
async function plant(overrides: Partial<LockHolder>): Promise<void> {
  const mine = await PidLock.acquire(file, { purpose: 'template' });
  const record = { ...mine.holder, ...overrides };
  await mine.release();
  await fs.writeFile(file, JSON.stringify(record));
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('PidLock', () => {
  it('refuses a second holder with ERR_TUF_LOCKED naming the first; free again after release', async () => {
    const first = await PidLock.acquire(file, { purpose: 'tufota-agent daemon' });
    const refused = await PidLock.acquire(file, { purpose: 'tufota-agent install' }).catch(
      (e) => e,
    );
    expect(refused).toBeInstanceOf(LockHeldError);
    expect(refused).toMatchObject({
      code: 'ERR_TUF_LOCKED',
      holderPid: process.pid,
      filePath: file,
    });
    expect(refused.message).toContain(`tufota-agent daemon (pid ${process.pid}`);
    expect(refused.message).toContain(file);
    await first.release();
    await first.release(); // idempotent
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    const second = await PidLock.acquire(file);
    expect((await readLockHolder(file)) as LockHolder).toMatchObject({
      nonce: second.holder.nonce,
    });
    await second.release();
  });

  it('is exclusive across processes; the lock of a killed holder is recovered', {
    timeout: 120_000,
  }, async () => {
    await buildOnce();
    const url = path.join(ROOT, 'dist', 'src', 'storage', 'pid-lock.js');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { PidLock } = await import(${JSON.stringify(url)});
         await PidLock.acquire(${JSON.stringify(file)}, { purpose: 'child agent' });
         console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d) => String(d).includes('locked') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    await expect(PidLock.acquire(file)).rejects.toMatchObject({
      code: 'ERR_TUF_LOCKED',
      holderPid: child.pid,
      message: expect.stringContaining('child agent'),
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const lock = await PidLock.acquire(file);
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it.each([
    ['its pid is dead', async () => ({ pid: await deadPid() })],
    ['it was taken in an earlier boot', async () => ({ bootId: 'a-boot-before-the-last-reboot' })],
    ['its pid now belongs to a process started at another time', async () => ({ startTime: '1' })],
  ])('recovers a stale lock: %s', async (_why, make) => {
    if (!(await fs.stat('/proc/self/stat').catch(() => false))) return; // Linux only
    await plant({ ...(await make()), purpose: 'old agent', nonce: 'stale' });
    const lock = await PidLock.acquire(file, { purpose: 'new agent' });
    expect((await readLockHolder(file)) as LockHolder).toMatchObject({ purpose: 'new agent' });
    await lock.release();
    expect(await fs.readdir(dir)).toEqual([]); // no temp or .break file left
  });

  it('recovers a file that is no lock record', async () => {
    await fs.writeFile(file, 'garbage');
    const lock = await PidLock.acquire(file);
    await lock.release();
  });

  it('never breaks a lock taken on another host', async () => {
    await plant({ pid: await deadPid(), hostname: 'other-host.example' });
    await expect(PidLock.acquire(file)).rejects.toMatchObject({
      code: 'ERR_TUF_LOCKED',
      message: expect.stringMatching(/on host other-host\.example.*remove .* by hand/),
    });
  });

  it('release leaves a lock that is no longer ours', async () => {
    const lock = await PidLock.acquire(file);
    await fs.writeFile(file, JSON.stringify({ ...lock.holder, nonce: 'someone-else' }));
    await lock.release();
    expect((await readLockHolder(file)) as LockHolder).toMatchObject({ nonce: 'someone-else' });
  });

  it('a missing directory is a StorageError', async () => {
    await expect(PidLock.acquire(path.join(dir, 'no', 'such', 'x.lock'))).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
  });
});
