/**
 * Every admin example runs end to end from its compiled form (`node dist/examples/admin/X.js`),
 * so the commands the admin guide shows never rot.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, ROOT } from './helpers.js';

function runExample(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'dist', 'examples', 'admin', `${name}.js`)],
      { cwd: ROOT, env: { PATH: process.env.PATH }, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe('examples/admin', () => {
  beforeAll(async () => {
    await buildOnce();
  });

  it.each([
    ['create-repository', 'OK: repository created with an offline root key'],
    ['ci-release', 'OK: CI release workflow'],
    ['rotate-targets-key', 'OK: targets key rotated'],
    ['recover-timestamp-key', 'OK: recovered from a compromised timestamp key'],
  ])('%s runs end to end', async (name, done) => {
    const result = await runExample(name);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(done);
    expect(result.stdout).not.toContain('check failed');
  });
});
