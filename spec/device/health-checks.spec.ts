/** Health checks: the runner's timeouts and the built-ins against real processes and servers. */
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertHealthChecks,
  commandCheck,
  type HealthCheck,
  healthCheckFailures,
  healthChecksFor,
  httpProbe,
  runHealthChecks,
  systemdUnitCheck,
  UPDATE_SERVER_CHECK_NAME,
  updateServerCheck,
} from '../../src/device/health-checks.js';

describe('runHealthChecks', () => {
  it('reports each check in order, failing the ones that reject or time out', async () => {
    let aborted = false;
    const results = await runHealthChecks([
      { name: 'fine', run: async () => {} },
      { name: 'broken', run: async () => Promise.reject(new Error('boom')) },
      {
        name: 'slow',
        timeoutMs: 30,
        run: (signal) =>
          new Promise(() => {
            signal.addEventListener('abort', () => {
              aborted = true;
            });
          }),
      },
      {
        name: 'throws synchronously',
        run: () => {
          throw new Error('sync');
        },
      },
    ]);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['fine', true],
      ['broken', false],
      ['slow', false],
      ['throws synchronously', false],
    ]);
    expect(results[2]?.error).toMatchObject({ code: 'ERR_TUF_HEALTH_CHECK' });
    expect(results[2]?.error?.message).toMatch(/did not finish within 30 ms/);
    expect(aborted).toBe(true);
  });
});

describe('built-in checks', () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-health-'));
    server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : req.url === '/nocontent' ? 204 : 503;
      res.end('body');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('commandCheck: exit 0 passes, non-zero fails with the stderr tail, no shell', async () => {
    const [ok, bad, literal] = await runHealthChecks([
      commandCheck('true'),
      commandCheck('sh', ['-c', 'echo broken >&2; exit 3']),
      commandCheck('true; false'),
    ]);
    expect(ok?.ok).toBe(true);
    expect(bad?.error?.message).toMatch(/exit 3.*broken/);
    expect(literal?.ok).toBe(false); // "true; false" is a program name, not a shell line
  });

  it('commandCheck: a hanging program is killed at the timeout', async () => {
    const [r] = await runHealthChecks([commandCheck('sleep', ['30'], { timeoutMs: 100 })]);
    expect(r?.ok).toBe(false);
  });

  it('systemdUnitCheck runs systemctl is-active --quiet UNIT', async () => {
    const fake = path.join(dir, 'systemctl');
    await fs.writeFile(fake, `#!/bin/sh\necho "$@" > ${dir}/args\n[ "$3" = good.service ]\n`, {
      mode: 0o755,
    });
    const [good, bad] = await runHealthChecks([
      systemdUnitCheck('good.service', { systemctl: fake }),
      systemdUnitCheck('bad.service', { systemctl: fake }),
    ]);
    expect(good?.ok).toBe(true);
    expect(bad?.ok).toBe(false);
    expect(() => systemdUnitCheck('--now')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
  });

  it('httpProbe compares the status', async () => {
    const results = await runHealthChecks([
      httpProbe(`${base}/ok`),
      httpProbe(`${base}/nocontent`, { expectStatus: 204 }),
      httpProbe(`${base}/down`),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[2]?.error?.message).toMatch(/answered 503, expected 200/);
    expect(() => httpProbe('file:///etc/passwd')).toThrow();
  });

  it('updateServerCheck is a TUF refresh', async () => {
    let refreshed = 0;
    const [ok] = await runHealthChecks([
      updateServerCheck({ refresh: async () => void refreshed++ }),
    ]);
    const [bad] = await runHealthChecks([
      updateServerCheck({
        refresh: async () =>
          Promise.reject(Object.assign(new Error('expired'), { code: 'ERR_TUF_EXPIRED' })),
      }),
    ]);
    expect(ok?.ok).toBe(true);
    expect(refreshed).toBe(1);
    expect(bad?.error).toMatchObject({ code: 'ERR_TUF_EXPIRED' });
  });
});

describe('trial-only and every-boot checks', () => {
  const noop = async () => {};
  const app: HealthCheck = { name: 'app', run: noop };
  const migration: HealthCheck = { name: 'migration', when: 'trial', run: noop };
  const disk: HealthCheck = { name: 'disk', when: 'always', run: noop };
  const server = updateServerCheck({ refresh: noop });

  it('the update-server check is trial-only unless asked otherwise', () => {
    expect(server).toMatchObject({ name: UPDATE_SERVER_CHECK_NAME, when: 'trial' });
    expect(updateServerCheck({ refresh: noop }, { when: 'always' }).when).toBe('always');
  });

  it('a trial boot runs every check; a normal boot only the every-boot ones (the default)', () => {
    const all = [app, migration, disk, server];
    expect(healthChecksFor(all, 'trial').map((c) => c.name)).toEqual([
      'app',
      'migration',
      'disk',
      UPDATE_SERVER_CHECK_NAME,
    ]);
    expect(healthChecksFor(all, 'normal').map((c) => c.name)).toEqual(['app', 'disk']);
  });

  it('refuses malformed checks by name', () => {
    expect(() => assertHealthChecks([app, migration, disk])).not.toThrow();
    const cases: Array<[unknown, RegExp]> = [
      [{ ...app, when: 'trail' }, /when must be 'trial' or 'always', got "trail"/],
      [{ ...app, name: '' }, /healthChecks\[0\]\.name/],
      [{ name: 'x' }, /x: run must be a function/],
      [{ ...app, timeoutMs: 0 }, /timeoutMs/],
      [null, /not a health check/],
    ];
    for (const [check, message] of cases) {
      expect(() => assertHealthChecks([check as HealthCheck])).toThrow(
        expect.objectContaining({
          code: 'ERR_TUF_INVALID_STATE',
          message: expect.stringMatching(message),
        }),
      );
    }
  });

  it('flattens failures with their codes', async () => {
    const results = await runHealthChecks([
      app,
      { name: 'broken', run: async () => Promise.reject(new Error('boom')) },
    ]);
    expect(healthCheckFailures(results)).toEqual([
      { name: 'broken', code: 'ERR_TUF_HEALTH_CHECK', message: 'broken: boom' },
    ]);
  });
});
