/**
 * A phased deployment driven from the dashboard, in Chromium, against the real server (SQLite):
 * create a dynamic group and a phased deployment in the UI, watch a simulated fleet (seeded
 * devices answering through the real device API) move through it in the page's live region, and
 * see the automatic pause with the failed devices and their log links when canary devices fail.
 *
 * The devices here are scripted (phase reports through the device API), so each state can be
 * forced; spec/dashboard/simulated-fleet.spec.ts drives the same pages with real agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardBrowser, launchChromium } from '../helpers/browser.js';
import { systemTools } from '../helpers/system-tools.js';
import { type DashboardFleet, seedFleet, startDashboardFleet } from './fleet-harness.js';
import { createDeployment, createDynamicGroup, logInWithToken } from './ui-steps.js';

const tools = systemTools('spec/dashboard/rollout.spec.ts', ['chromium']);
const devices = seedFleet(12);
const gateways = devices.filter((d) => d.model === 'gw-200' && d.selfRegistered === undefined);

interface DeploymentView {
  deployment: {
    id: string;
    status: string;
    devices: Record<string, { state: string; assignedAt?: string; phase: number }>;
  };
}

/**
 * One round of the simulated fleet: every device assigned and still pending reports its update
 * through the device API — success, or (for `failing`) a failure with a log tail.
 */
async function fleetRound(
  fleet: DashboardFleet,
  id: string,
  failing: Set<string>,
): Promise<string> {
  const view = (await fleet.admin('GET', `/deployments/${id}`)) as DeploymentView;
  for (const [deviceId, device] of Object.entries(view.deployment.devices)) {
    if (device.assignedAt === undefined || device.state !== 'pending') continue;
    const report = (phase: string, extra: Record<string, unknown> = {}) =>
      fleet.device(deviceId, '/events', { phase, correlationId: id, ...extra });
    await report('writing');
    if (failing.has(deviceId)) {
      await fleet.device(deviceId, '/logs', {
        correlationId: id,
        lines: ['writing slot b', 'health check app-ready failed: exit 3', 'rolling back'],
      });
      await report('failed', {
        result: 'failure',
        error: { code: 'ERR_TUF_HEALTH_CHECK', message: 'health check app-ready failed' },
      });
      continue;
    }
    await report('written');
    await report('rebooting');
    await report('committed', { result: 'success' });
  }
  return view.deployment.status;
}

/** Run the simulated fleet until the deployment reaches `status` (bounded). */
async function driveUntil(
  fleet: DashboardFleet,
  id: string,
  failing: Set<string>,
  status: string,
): Promise<void> {
  for (let round = 0; round < 300; round++) {
    if ((await fleetRound(fleet, id, failing)) === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`deployment ${id} never reached ${status}`);
}

/** The deployment form as both tests fill it (the release aside). */
const FORM = { group: 'gateways', phases: '2, 50%, 100%', maxConcurrent: 4 };

describe.skipIf(tools.skip)('dashboard in Chromium: phased deployments', () => {
  let fleet: DashboardFleet;
  let browser: DashboardBrowser;

  beforeAll(async () => {
    fleet = await startDashboardFleet(devices);
    // The gateways report their ECUs (hardware id `gateway`), so the release fits them.
    for (const gw of gateways) {
      await fleet.device(gw.deviceId, '/register', {
        deviceId: gw.deviceId,
        model: gw.model,
        ecus: [
          {
            ecuSerial: `${gw.deviceId}-main`,
            hardwareId: 'gateway',
            primary: true,
            publicKey: {
              keytype: 'ed25519',
              scheme: 'ed25519',
              keyval: { public: '00'.repeat(32) },
            },
          },
        ],
      });
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('creates a group and a phased deployment, and shows the fleet moving through it', async () => {
    const { page } = await browser.newPage();
    await logInWithToken(page, fleet.url, fleet.adminToken);
    await createDynamicGroup(page, 'gateways', 'model=gw-200');

    const id = await createDeployment(page, fleet.url, { ...FORM, release: 'fw/gw-2.0.img' });
    const live = page.getByTestId('deployment-live');
    expect(await live.getAttribute('aria-live')).toBe('polite');
    await expect.poll(() => live.textContent()).toMatch(/Deployment running, phase 1 of 3/);
    await driveUntil(fleet, id, new Set(), 'completed');
    await expect
      .poll(() => live.textContent(), { timeout: 15_000 })
      .toMatch(new RegExp(`Deployment completed.*${gateways.length} succeeded`));
    await page.close();
  });

  it('pauses by itself when canary devices fail, listing them with their logs', async () => {
    const { page } = await browser.newPage();
    await logInWithToken(page, fleet.url, fleet.adminToken);
    const id = await createDeployment(page, fleet.url, { ...FORM, release: 'fw/gw-1.0.img' });
    const failing = new Set(gateways.map((g) => g.deviceId));
    await driveUntil(fleet, id, failing, 'paused');
    const live = page.getByTestId('deployment-live');
    await expect.poll(() => live.textContent(), { timeout: 15_000 }).toMatch(/Deployment paused/);
    const failed = page.getByRole('table', { name: 'Failed devices' });
    await failed.waitFor();
    const rows = await failed.locator('tbody th').allTextContents();
    expect(rows.length).toBeGreaterThan(0);
    for (const deviceId of rows) expect(failing.has(deviceId)).toBe(true);
    // The log link leads to the device's logs of this deployment.
    await failed.getByRole('link', { name: `logs of ${rows[0]}` }).click();
    await page.getByText('health check app-ready failed: exit 3').waitFor();
    await page.close();
  });
});
