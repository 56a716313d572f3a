/**
 * `npm run screenshots`: runs only the screenshot script (not part of `npm test`), which starts
 * the real server with a seeded fleet and saves PNGs of the dashboard to docs/images/.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['spec/dashboard/screenshots.script.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
