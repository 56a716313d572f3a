/**
 * Screenshots of the dashboard for docs/dashboard.md: the real server with a simulated fleet of
 * real agents (`tufota/testing/fleet`, 60 devices through the issue-15 rollout scenario: a good
 * release rolled out in phases, a crashing one paused after its canary, a consent rollout), the
 * pages in Chromium, PNGs written to docs/images/dashboard-*.png. Run with `npm run screenshots`
 * (needs Debian's chromium).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import {
  FleetSimulation,
  type RolloutScenarioReport,
  runRolloutScenario,
} from '../../src/testing/fleet.js';
import { type DashboardBrowser, launchChromium } from '../helpers/browser.js';
import { PROJECT_ROOT } from '../helpers/vectors.js';

const OUT = join(PROJECT_ROOT, 'docs', 'images');
let dir: string;
let sim: FleetSimulation;
let report: RolloutScenarioReport;
let browser: DashboardBrowser;

beforeAll(async () => {
  dir = await fs.mkdtemp(join(os.tmpdir(), 'tufota-screenshots-'));
  sim = await FleetSimulation.create({ dir, devices: 60 });
  report = await runRolloutScenario(sim, { log: (line) => console.log(line) });
  const ok = async (method: string, path: string, body: unknown) => {
    const answer = await sim.admin(method, path, body);
    if (answer.status >= 300)
      throw new Error(`${path}: ${answer.status} ${JSON.stringify(answer.json)}`);
  };
  await ok('POST', 'users', { userId: 'olga', name: 'Olga Operator', role: 'operator' });
  await ok('POST', 'users', { userId: 'rita', name: 'Rita Releaser', role: 'releaser' });
  await ok('POST', 'tokens', {
    userId: 'rita',
    scopes: ['read', 'releases'],
    expiresInDays: 30,
    description: 'CI release pipeline',
  });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await sim?.close();
  if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
});

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(OUT, `dashboard-${name}.png`), fullPage });
  console.log(`wrote docs/images/dashboard-${name}.png`);
}

it('photographs the dashboard', async () => {
  const url = sim.server.url;
  const { page } = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${url}/ui/`);
  await shot(page, 'login');
  await page.getByLabel('Or an API token (tfa_…)').fill(sim.adminToken);
  await page.getByRole('button', { name: 'Log in with the token' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  await shot(page, 'overview');

  await page.goto(`${url}/ui/devices?model=gw-200&attrName=site&attrValue=oslo`);
  await page.locator('tbody tr').first().waitFor();
  await shot(page, 'inventory');

  // A canary device of the crashing release: its history and the log tail its agent uploaded.
  const failed = report.bad.failures[0]?.deviceId as string;
  await page.goto(`${url}/ui/devices/${failed}`);
  await page
    .getByText(/SIGSEGV/)
    .first()
    .waitFor({ state: 'attached' });
  await shot(page, 'device');

  await page.goto(`${url}/ui/deployments`);
  await page.locator('tbody tr').first().waitFor();
  await shot(page, 'deployments');
  await page.goto(`${url}/ui/deployments/${encodeURIComponent(report.bad.deployment.id)}`);
  await page.getByRole('table', { name: 'Failed devices' }).waitFor();
  await shot(page, 'deployment-paused');

  for (const path of ['releases', 'groups']) {
    await page.goto(`${url}/ui/${path}`);
    await page.waitForLoadState('networkidle');
    await shot(page, path);
  }

  await page.goto(`${url}/ui/people`);
  await page.getByRole('rowheader', { name: 'rita' }).first().waitFor();
  await shot(page, 'people');

  await page.goto(`${url}/ui/audit`);
  await page.locator('tbody tr').first().waitFor();
  // The audit log grows long: the first screen is enough.
  await shot(page, 'audit', false);
});
