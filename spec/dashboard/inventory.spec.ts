/**
 * The dashboard in Debian's Chromium against the real fleet server (SQLite): log in, filter the
 * inventory, page through it, open a device, and see RBAC refuse a viewer exactly as the API does.
 * Outside CI a missing chromium skips with the reason printed; under CI=true it fails.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardBrowser, launchChromium } from '../helpers/browser.js';
import { systemTools } from '../helpers/system-tools.js';
import { type DashboardFleet, seedFleet, startDashboardFleet } from './fleet-harness.js';
import { logInWithToken } from './ui-steps.js';

const tools = systemTools('spec/dashboard/inventory.spec.ts', ['chromium']);
const fleetDevices = seedFleet(30);

/** Problems that mean the dashboard is broken: script errors, CSP refusals, external requests. */
function serious(problems: string[]): string[] {
  // A 4xx/5xx answer is logged by Chromium as "Failed to load resource"; pages show those.
  return problems.filter((p) => !p.includes('Failed to load resource'));
}

async function rowIds(page: Page): Promise<string[]> {
  await page.locator('tbody tr').first().waitFor();
  return page.locator('tbody tr th[scope="row"]').allInnerTexts();
}

describe.skipIf(tools.skip)('dashboard in Chromium: log-in and inventory', () => {
  let fleet: DashboardFleet;
  let browser: DashboardBrowser;

  beforeAll(async () => {
    fleet = await startDashboardFleet(fleetDevices);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('is served at /ui/ with its CSP and logs in with an API token kept in sessionStorage', async () => {
    const { page, problems } = await browser.newPage();
    const response = await page.goto(`${fleet.url}/ui/devices`);
    expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(await page.title()).toBe('Log in · tufota fleet');

    // A wrong token: the server's 401 message is shown, nothing is kept.
    await page.getByLabel('Or an API token (tfa_…)').fill('tfa_not-a-token');
    await page.getByRole('button', { name: 'Log in with the token' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/ERR_TUF_FLEET_UNAUTHENTICATED/);
    expect(await page.evaluate("sessionStorage.getItem('tufota.session')")).toBeNull();

    await page.getByLabel('Or an API token (tfa_…)').fill(fleet.adminToken);
    await page.getByRole('button', { name: 'Log in with the token' }).click();
    await page.getByRole('heading', { name: 'Inventory' }).waitFor();
    const stored = await page.evaluate("sessionStorage.getItem('tufota.session')");
    expect(JSON.parse(String(stored ?? '{}')).token).toBe(fleet.adminToken);
    // Nothing outside sessionStorage: no cookie, no localStorage.
    expect(await page.context().cookies()).toEqual([]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    await expect.poll(() => page.getByRole('button', { name: /Log out admin/ }).count()).toBe(1);

    await page.getByRole('button', { name: /Log out/ }).click();
    await page.getByLabel('User id').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('tufota.session')")).toBeNull();
    expect(serious(problems)).toEqual([]);
    await page.close();
  });

  it('filters the inventory by model, status and attribute, and pages with the cursor', async () => {
    const { page, problems } = await browser.newPage();
    await logInWithToken(page, fleet.url, fleet.adminToken);
    await page.getByRole('link', { name: 'Inventory' }).click();

    // 32 devices, 25 a page: the cursor leads to the 7 others and back.
    const first = await rowIds(page);
    expect(first).toHaveLength(25);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(7);
    const second = await rowIds(page);
    expect(new Set([...first, ...second]).size).toBe(32);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => rowIds(page)).toEqual(first);

    // Every form control has a label, every column a header, and the filters are reachable by Tab.
    const unlabelled = await page.evaluate(
      `[...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML)`,
    );
    expect(unlabelled).toEqual([]);
    expect(await page.locator('thead th[scope="col"]').count()).toBe(7);
    await page.locator('input[name="q"]').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.name')).toBe('status');

    await page.getByLabel('Model').fill('cam-10');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const cameras = fleetDevices.filter((d) => d.model === 'cam-10').map((d) => d.deviceId);
    await expect.poll(() => rowIds(page)).toEqual(cameras.sort());
    expect(page.url()).toContain('model=cam-10');

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('pending');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rowIds(page)).toEqual(['gw-new-1', 'gw-new-2']);

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Model').fill('gw-200');
    await page.getByLabel('Attribute name').fill('site');
    await page.getByLabel('Attribute value').fill('oslo');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const oslo = fleetDevices
      .filter((d) => d.model === 'gw-200' && d.attributes.site === 'oslo')
      .map((d) => d.deviceId)
      .sort();
    await expect.poll(() => rowIds(page)).toEqual(oslo);

    // A filter matching nothing says so; a filter the server refuses shows its message.
    await page.getByLabel('Attribute value').fill('nowhere');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No device matches these filters.').waitFor();
    await page.getByLabel('Attribute name').fill('bad name!');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/ERR_TUF_FLEET_BAD_REQUEST/);

    // The device page: a pending device from the filtered view, accepted from the UI.
    await page.goto(`${fleet.url}/ui/devices?status=pending`);
    await page.getByRole('link', { name: 'gw-new-1' }).click();
    await page.getByRole('heading', { name: 'Device gw-new-1' }).waitFor();
    await page.getByRole('rowheader', { name: 'gw-new-1-main' }).waitFor();
    await page.getByRole('button', { name: 'Accept' }).click();
    await expect.poll(() => page.locator('.fields .status').textContent()).toBe('accepted');
    const after = (await fleet.admin('GET', '/devices/gw-new-1')) as { status: string };
    expect(after.status).toBe('accepted');
    expect(serious(problems)).toEqual([]);
    await page.close();
  });

  it('shows the API refusing a viewer (403) rather than deciding in the browser', async () => {
    await fleet.admin('POST', '/users', { userId: 'vic', name: 'Vic Viewer', role: 'viewer' });
    const { token } = (await fleet.admin('POST', '/tokens', {
      userId: 'vic',
      scopes: ['read'],
      expiresInDays: 1,
      description: 'browser test',
    })) as { token: string };
    const { page, problems } = await browser.newPage();
    await logInWithToken(page, fleet.url, token);
    await page.getByRole('link', { name: 'Users & tokens' }).click();
    await expect
      .poll(() => page.getByRole('alert').first().textContent())
      .toMatch(/ERR_TUF_FLEET_FORBIDDEN/);
    // Reading is allowed: the inventory loads for the viewer.
    await page.getByRole('link', { name: 'Inventory' }).click();
    expect(await rowIds(page)).toHaveLength(25);
    // Writing is not: accepting a pending device is refused by the server, with its message.
    await page.goto(`${fleet.url}/ui/devices/gw-new-2`);
    await page.getByRole('button', { name: 'Accept' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/ERR_TUF_FLEET_FORBIDDEN/);
    const still = (await fleet.admin('GET', '/devices/gw-new-2')) as { status: string };
    expect(still.status).toBe('pending');
    expect(serious(problems)).toEqual([]);
    await page.close();
  });
});
