/**
 * The dashboard in Chromium over a simulated fleet whose devices are real agents
 * (`tufota/testing/fleet`: the fleet-mode agent daemon on file-backed slots, a simulated
 * bootloader) against the real server with SQLite: log in, make a group in the UI, start a phased
 * deployment in the UI and watch the live region follow the devices until it completes; then a
 * release whose application crashes pauses itself, and the page lists the rolled-back devices
 * with a link to the log tail their agents uploaded.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetSimulation, SIMULATION_RELEASES } from '../../src/testing/fleet.js';
import { type DashboardBrowser, launchChromium } from '../helpers/browser.js';
import { systemTools } from '../helpers/system-tools.js';
import { createDeployment, createDynamicGroup, logInWithToken } from './ui-steps.js';

const tools = systemTools('spec/dashboard/simulated-fleet.spec.ts', ['chromium']);

describe.skipIf(tools.skip)('dashboard in Chromium over a simulated fleet of real agents', () => {
  let dir: string;
  let sim: FleetSimulation;
  let browser: DashboardBrowser;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-dashboard-sim-'));
    // 24 devices: oslo 11, bergen 8 (one a gw-100), lab 5.
    sim = await FleetSimulation.create({ dir, devices: 24 });
    sim.start();
    await sim.waitFor(
      'every device reporting its factory image',
      async () => {
        const list = await sim.admin('GET', 'devices?limit=100');
        const reported = (list.json.items as { ecus: { installedTarget?: string }[] }[]).filter(
          (d) => d.ecus[0]?.installedTarget !== undefined,
        );
        return reported.length === 24 ? true : undefined;
      },
      { timeoutMs: 120_000 },
    );
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await sim?.close();
    if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('a phased deployment made in the UI completes as the devices install, reboot and commit', async () => {
    const { page } = await browser.newPage();
    await logInWithToken(page, sim.server.url, sim.adminToken);
    await createDynamicGroup(page, 'bergen', 'site=bergen');
    const id = await createDeployment(page, sim.server.url, {
      release: SIMULATION_RELEASES.good,
      group: 'bergen',
      phases: '2, 50%, 100%',
      maxConcurrent: 10,
    });
    const live = page.getByTestId('deployment-live');
    await expect
      .poll(() => live.textContent(), { timeout: 120_000, interval: 500 })
      .toMatch(/Deployment completed.*7 succeeded/);
    // What the page said is what the devices did.
    const report = await sim.admin('GET', `deployments/${encodeURIComponent(id)}`);
    expect(report.json.summary).toMatchObject({ succeeded: 7, failed: 0, rolledBack: 0 });
    expect(report.json.incompatible).toHaveLength(1);
    const bergen = sim.devices.filter((d) => d.site === 'bergen' && d.hardwareId === 'gw-200');
    for (const d of bergen) expect(d.booted, d.deviceId).toBe('B');
    await page.close();
  }, 180_000);

  it('a crashing release pauses itself; the page lists the rolled-back devices and their logs', async () => {
    const { page } = await browser.newPage();
    await logInWithToken(page, sim.server.url, sim.adminToken);
    await createDynamicGroup(page, 'oslo', 'model=gw-200 and site=oslo');
    await createDeployment(page, sim.server.url, {
      release: SIMULATION_RELEASES.bad,
      group: 'oslo',
      phases: '3, 50%, 100%',
      maxConcurrent: 10,
    });
    const live = page.getByTestId('deployment-live');
    await expect
      .poll(() => live.textContent(), { timeout: 120_000, interval: 500 })
      .toMatch(/Deployment paused/);
    const failed = page.getByRole('table', { name: 'Failed devices' });
    await failed.waitFor();
    await expect
      .poll(async () => (await failed.locator('tbody th').allTextContents()).length, {
        timeout: 60_000,
      })
      .toBeGreaterThan(0);
    const rows = await failed.locator('tbody th').allTextContents();
    const oslo = new Set(sim.devices.filter((d) => d.site === 'oslo').map((d) => d.deviceId));
    for (const deviceId of rows) expect(oslo.has(deviceId), deviceId).toBe(true);
    // The agent uploaded its log tail; the link shows the health check that failed.
    await failed.getByRole('link', { name: `logs of ${rows[0]}` }).click();
    await page
      .getByText(/SIGSEGV/)
      .first()
      .waitFor({ timeout: 30_000 });
    await page.close();
  }, 180_000);
});
