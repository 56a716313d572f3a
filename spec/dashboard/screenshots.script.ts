/**
 * Screenshots of the dashboard for docs/dashboard.md: the real server with a seeded fleet, the
 * pages in Chromium, PNGs written to docs/images/dashboard-*.png. Run with `npm run screenshots`
 * (needs Debian's chromium). Pages whose API endpoints the server does not have yet are left out
 * with a printed note rather than photographed as error pages.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import { type DashboardBrowser, launchChromium } from '../helpers/browser.js';
import { PROJECT_ROOT } from '../helpers/vectors.js';
import { type DashboardFleet, seedFleet, startDashboardFleet } from './fleet-harness.js';

const OUT = join(PROJECT_ROOT, 'docs', 'images');
let fleet: DashboardFleet;
let browser: DashboardBrowser;

beforeAll(async () => {
  fleet = await startDashboardFleet(seedFleet(40));
  // Some history for the device page: an update that wrote, rebooted and committed, with logs.
  const report = (phase: string) =>
    fleet.device('gw-001', '/events', { phase, correlationId: 'upd-2026-12-04' });
  for (const phase of ['writing', 'written', 'rebooting', 'committed']) await report(phase);
  await fleet.device('gw-001', '/logs', {
    correlationId: 'upd-2026-12-04',
    lines: [
      '18:02:11 downloading fw/gw-2.0.img (4.2 MiB)',
      '18:02:19 verified sha256 and sha512 against targets.json',
      '18:02:20 writing slot b',
      '18:02:31 rebooting into slot b (trial boot)',
      '18:03:02 health checks passed: app-ready, network',
      '18:03:02 committed slot b',
    ],
  });
  await fleet.admin('POST', '/users', { userId: 'olga', name: 'Olga Operator', role: 'operator' });
  await fleet.admin('POST', '/users', { userId: 'rita', name: 'Rita Releaser', role: 'releaser' });
  await fleet.admin('POST', '/tokens', {
    userId: 'rita',
    scopes: ['read', 'releases'],
    expiresInDays: 30,
    description: 'CI release pipeline',
  });
  // Groups and a phased deployment for the rollout pages (the servers without them skip).
  if (await endpointExists('/deployments')) {
    await fleet.admin('POST', '/groups', {
      name: 'gateways',
      kind: 'dynamic',
      expression: 'model=gw-200',
    });
    await fleet.admin('POST', '/groups', {
      name: 'pilot',
      kind: 'static',
      devices: ['gw-001', 'gw-002', 'gw-003'],
    });
    await fleet.admin('POST', '/deployments', {
      release: 'fw/gw-2.0.img',
      group: 'gateways',
      policy: {
        phases: [{ devices: 2 }, { percent: 50 }, { percent: 100 }],
        soakSeconds: 300,
        maxFailureRate: 0.1,
        maxConcurrent: 10,
        updateControl: 'forced',
      },
    });
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await fleet?.close();
});

async function endpointExists(path: string): Promise<boolean> {
  return fleet.admin('GET', path).then(
    () => true,
    (error: Error) => {
      if (/: 404 /.test(error.message)) return false;
      throw error;
    },
  );
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(OUT, `dashboard-${name}.png`), fullPage });
  console.log(`wrote docs/images/dashboard-${name}.png`);
}

it('photographs the dashboard', async () => {
  const { page } = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${fleet.url}/ui/`);
  await shot(page, 'login');
  await page.getByLabel('Or an API token (tfa_…)').fill(fleet.adminToken);
  await page.getByRole('button', { name: 'Log in with the token' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();

  await page.goto(`${fleet.url}/ui/devices?model=gw-200&attrName=site&attrValue=oslo`);
  await page.locator('tbody tr').first().waitFor();
  await shot(page, 'inventory');

  await page.goto(`${fleet.url}/ui/devices/gw-001`);
  await page.getByText('committed slot b').waitFor({ state: 'attached' });
  await shot(page, 'device');

  await page.goto(`${fleet.url}/ui/people`);
  await page.getByRole('rowheader', { name: 'rita' }).first().waitFor();
  await shot(page, 'people');

  await page.goto(`${fleet.url}/ui/audit`);
  await page.locator('tbody tr').first().waitFor();
  // The audit log grows long: the first screen is enough.
  await shot(page, 'audit', false);

  for (const [path, name] of [
    ['/overview', 'overview'],
    ['/deployments', 'deployments'],
    ['/releases', 'releases'],
    ['/groups', 'groups'],
  ] as const) {
    if (!(await endpointExists(path))) {
      console.warn(`not photographed: ${name} (the server has no GET /api/admin/v1${path} yet)`);
      continue;
    }
    await page.goto(`${fleet.url}/ui${path === '/overview' ? '/' : path}`);
    await shot(page, name);
  }
});
