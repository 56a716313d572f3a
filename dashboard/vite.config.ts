/**
 * Build of the operator dashboard (issue 15): a static single-page app the fleet server serves
 * at `/ui/` (src/server/fleet/dashboard-route.ts). Everything is bundled — no CDN, no fonts from
 * elsewhere — so the page works on a network without Internet access and under the server's
 * `default-src 'self'` Content-Security-Policy (hence no inline scripts, no modulepreload
 * polyfill injected inline).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/ui/',
  // JSX compiled by esbuild for Preact: no Babel preset needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: here('../dist/dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // Small images stay files: a data: URL would need `img-src data:` in the server's CSP.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
