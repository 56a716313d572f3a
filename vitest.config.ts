import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Documentation examples import the package by name; resolve it to the sources under test.
    alias: [
      { find: /^tufota$/, replacement: src('index.ts') },
      { find: /^tufota\/errors$/, replacement: src('errors.ts') },
      {
        find: /^tufota\/(client|repository|uptane|signers|device|testing|server)$/,
        replacement: src('$1/index.ts'),
      },
    ],
  },
  test: {
    include: ['spec/**/*.spec.ts', 'conformance/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
