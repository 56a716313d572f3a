/**
 * Debian's Chromium, driven by playwright-core, for the dashboard's browser tests. Never a
 * downloaded browser (`npx playwright install`): the one from `apt-get install chromium`, with a
 * fresh profile per launch and every background network feature off, so a test talks to the
 * loopback server and nothing else.
 *
 * Each page records console errors, page errors and Content-Security-Policy violations; the
 * tests assert there are none (a CSP violation means the dashboard needs something the server's
 * policy forbids).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface DashboardBrowser {
  context: BrowserContext;
  /** A new tab (its own sessionStorage, so its own log-in) with its problems recorded. */
  newPage(): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

/**
 * Launch headless Chromium on a fresh profile directory (playwright passes it as
 * `--user-data-dir`; it refuses the flag in `args`).
 */
export async function launchChromium(): Promise<DashboardBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'tufota-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 60_000,
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Only loopback: anything else a page tries to reach is a bug (CDN, fonts, analytics).
  const external: string[] = [];
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/]).*/, async (route) => {
    external.push(route.request().url());
    await route.abort();
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => {
        if (external.includes(request.url())) problems.push(`external request: ${request.url()}`);
      });
      return { page, problems };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
