/**
 * One-file builds of the programs that run as a fresh process per call (issue 12): the
 * conformance client (`conformance/tuf-conformance-client` runs it) and the client benchmark's
 * child. Run by `npm run build` after `tsc`, from its output in `dist/`.
 *
 * Why: Node 20 has no compile cache for ES modules, and resolving, reading and linking the
 * client's ~50 modules cost a fresh process about 100 M instructions (16%) and 40-60 ms of its
 * 230 ms (`bench/profiles.md`, third round). One file removes the resolution and per-module
 * work; the code is the same `tsc` output, only concatenated (no minification, so stack
 * traces keep their names; the source maps lead back to the TypeScript).
 *
 * The library itself is not bundled: `tufota/*` entries stay separate modules, so classes such
 * as the error hierarchy have one identity however a consumer imports them.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** A path in the build output, wherever this script is run from. */
const dist = (file) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.18',
  sourcemap: true,
  logLevel: 'warning',
};

await Promise.all([
  build({
    ...common,
    entryPoints: [dist('conformance/tuf-conformance-client.js')],
    outfile: dist('conformance/tuf-conformance-client.bundle.js'),
  }),
  build({
    ...common,
    entryPoints: [dist('bench/client-child.js')],
    outfile: dist('bench/client-child.bundle.js'),
    // The peer is measured as its package ships, loaded only by its own runs.
    external: ['tuf-js'],
  }),
]);
