/**
 * Steps the browser tests take in the dashboard as a person would: log in with an API token,
 * make a dynamic group, start a phased deployment from the *New deployment* form.
 */
import type { Page } from 'playwright-core';

/** Log in at `url`/ui/ with an API token and wait for the main navigation. */
export async function logInWithToken(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.getByLabel('Or an API token (tfa_…)').fill(token);
  await page.getByRole('button', { name: 'Log in with the token' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Make a dynamic group on the Groups page and wait until it is listed. */
export async function createDynamicGroup(
  page: Page,
  name: string,
  expression: string,
): Promise<void> {
  await page.getByRole('link', { name: 'Groups' }).click();
  await page.getByText('New group').click();
  await page.getByLabel('Name').fill(name);
  await page.getByRole('textbox', { name: /^Expression/ }).fill(expression);
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByText(`${name} — dynamic`).waitFor();
}

/**
 * Start a deployment from the form (no soak time, pause above 20 % failures) and return its id
 * from the deployment page it leads to.
 */
export async function createDeployment(
  page: Page,
  url: string,
  form: { release: string; group: string; phases: string; maxConcurrent: number },
): Promise<string> {
  await page.goto(`${url}/ui/deployments`);
  await page.getByText('New deployment').click();
  await page.getByLabel(/^Release/).selectOption(form.release);
  await page.getByRole('combobox', { name: /^Group/ }).selectOption(form.group);
  await page.getByLabel(/^Phases/).fill(form.phases);
  await page.getByLabel('Soak time between phases (seconds)', { exact: true }).fill('0');
  await page.getByLabel("Pause when a phase's failures exceed (%)", { exact: true }).fill('20');
  await page
    .getByLabel('Devices updating at once', { exact: true })
    .fill(String(form.maxConcurrent));
  await page.getByRole('button', { name: 'Start deployment' }).click();
  await page.waitForURL(/\/ui\/deployments\/[^/]+$/);
  return decodeURIComponent(page.url().split('/').pop() ?? '');
}
