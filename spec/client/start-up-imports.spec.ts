/**
 * What a client process loads at start-up (issue 12, case (a)): each module costs a fresh
 * process instructions before any work starts, so modules the client does not need on every run
 * are loaded when first used instead. This test follows the static runtime imports of the client
 * entry points and fails when one of those modules is reachable again, naming the chain:
 * - `node:https` / `node:tls` (about 27 M instructions): loaded on the first https request;
 * - `@noble/*` (about 60 M): the node provider verifies with `node:crypto`, the pure key checks
 *   need no noble; only the noble provider (for runtimes without `node:crypto`) loads it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeImportsOf, stripComments } from '../helpers/import-scan.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Bare specifiers that must not be loaded when a client starts. */
const NOT_AT_START_UP = [/^node:https$/, /^https$/, /^node:tls$/, /^tls$/, /^@noble\//];

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every module specifier reachable from `entry`, each with the chain of files to it. */
function reachable(entry: string, readFile: (file: string) => string | undefined) {
  const found: { spec: string; chain: string[] }[] = [];
  const seen = new Set<string>();
  const queue: string[][] = [[entry]];
  while (queue.length > 0) {
    const chain = queue.shift() as string[];
    const file = chain.at(-1) as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFile(file);
    if (source === undefined) throw new Error(`${chain.join(' → ')}: no such file`);
    for (const spec of runtimeImportsOf(stripComments(source))) {
      if (!spec.startsWith('.')) {
        found.push({ spec, chain });
        continue;
      }
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      queue.push([...chain, target]);
    }
  }
  return found;
}

function forbidden(entry: string, readFile = read): string[] {
  return reachable(entry, readFile)
    .filter(({ spec }) => NOT_AT_START_UP.some((re) => re.test(spec)))
    .map(({ spec, chain }) => `${chain.map((f) => f.slice(ROOT.length + 1)).join(' → ')}: ${spec}`);
}

describe('client start-up: no TLS and no noble until needed', () => {
  for (const entry of [
    'src/client/index.ts',
    'src/client/updater.ts',
    'src/transport/http-fetcher.ts',
    'src/storage/fs-metadata-store.ts',
    'conformance/tuf-conformance-client.ts',
  ]) {
    it(`${entry} reaches neither node:https, node:tls nor @noble/* through static imports`, () => {
      expect(forbidden(join(ROOT, entry))).toEqual([]);
    });
  }

  it('the walk finds such an import through a barrel (the check can fail)', () => {
    const files: Record<string, string> = {
      [join(ROOT, 'v/a.ts')]: "import { x } from './index.js';",
      [join(ROOT, 'v/index.ts')]:
        "export { y } from './noble.js';\nexport type { Z } from './z.js';",
      [join(ROOT, 'v/noble.ts')]: "import { sha512 } from '@noble/hashes/sha2.js';",
    };
    expect(forbidden(join(ROOT, 'v/a.ts'), (f) => files[f])).toEqual([
      'v/a.ts → v/index.ts → v/noble.ts: @noble/hashes/sha2.js',
    ]);
  });
});
