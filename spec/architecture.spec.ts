/**
 * The one dependency rule (shared/DESIGN.md): the pure core never touches the file system,
 * network, processes, adapter folders or the clock, so it can be tested with bytes alone and run
 * on other runtimes. This test reads the sources, follows every runtime import transitively (a
 * pure module must not reach I/O through another module either) and fails on a breach, naming
 * the import chain. Every module listed must exist, so the list cannot silently rot.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeBreach, type ScanHost, scanPurity } from './helpers/import-scan.js';

const SRC = join(import.meta.dirname, '..', 'src');

/** The pure core: every `.ts` file under these paths (relative to `src/`). */
const PURE = [
  'models',
  'canonical',
  'crypto',
  'errors.ts',
  'client/trusted-set.ts',
  'client/role-keys.ts',
  'client/role-names.ts',
  'client/target-verifier.ts',
  'client/delegation-search.ts',
  'client/config.ts',
  'uptane/verify',
  'uptane/director/manifest-processing.ts',
  'fleet',
];

/**
 * Pure modules that live beside the adapter they serve (inside an adapter folder): the same
 * rule applies to everything they import, only their own place is allowed.
 */
const PURE_IN_ADAPTER_FOLDER = ['server/store/audit-chain.ts'];

function listTs(path: string): string[] {
  const stat = statSync(path);
  if (stat.isFile()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) => listTs(join(path, name)));
}

const fsHost: ScanHost = {
  read(file) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
};

describe('architecture: the pure core stays pure', () => {
  for (const entry of PURE) {
    it(`${entry} exists and reaches no I/O module, adapter or clock, directly or transitively`, () => {
      const path = join(SRC, entry);
      expect(
        statSync(path, { throwIfNoEntry: false }),
        `${entry} is listed but missing`,
      ).toBeDefined();
      const files = listTs(path);
      expect(files.length, `${entry} holds no .ts file`).toBeGreaterThan(0);
      const breaches = scanPurity(files, SRC, fsHost).map(describeBreach);
      expect(breaches).toEqual([]);
    });
  }
  for (const entry of PURE_IN_ADAPTER_FOLDER) {
    it(`${entry} reaches no I/O module, other adapter or clock, directly or transitively`, () => {
      const path = join(SRC, entry);
      expect(statSync(path, { throwIfNoEntry: false }), `${entry} is missing`).toBeDefined();
      const breaches = scanPurity([path], SRC, fsHost)
        .filter((b) => !(b.chain.length === 1 && b.problem.startsWith('is in the adapter folder')))
        .map(describeBreach);
      expect(breaches).toEqual([]);
    });
  }
});

describe('the import scanner', () => {
  const root = '/virtual/src';
  const host = (files: Record<string, string>): ScanHost => ({
    read: (file) => files[file.slice(root.length + 1)],
  });

  it('catches a pure module reaching node:fs through another module, with the chain', () => {
    const breaches = scanPurity(
      [`${root}/models/a.ts`],
      root,
      host({
        'models/a.ts': "import { b } from './b.js';\nexport const a = b;",
        'models/b.ts': "export { c as b } from '../util/c.js';",
        'util/c.ts': "import { readFileSync } from 'node:fs';\nexport const c = readFileSync;",
      }),
    );
    expect(breaches.map(describeBreach)).toEqual([
      'models/a.ts → models/b.ts → util/c.ts: imports node:fs',
    ]);
  });

  it('catches an adapter folder and a clock read reached transitively', () => {
    const breaches = scanPurity(
      [`${root}/models/a.ts`],
      root,
      host({
        'models/a.ts': "import './b.js';\nimport { s } from '../storage/s.js';",
        'models/b.ts': 'export const t = Date.now();',
        'storage/s.ts': 'export const s = 1;',
      }),
    );
    expect(breaches.map(describeBreach).sort()).toEqual([
      'models/a.ts → models/b.ts: reads the clock (Date.now())',
      'models/a.ts → storage/s.ts: is in the adapter folder storage/',
    ]);
  });

  it('does not follow type-only imports, and reports imports that do not resolve', () => {
    const breaches = scanPurity(
      [`${root}/models/a.ts`],
      root,
      host({
        'models/a.ts':
          "import type { S } from '../storage/s.js';\nexport type { T } from '../transport/t.js';\nimport { x } from './missing.js';",
        'storage/s.ts': "import 'node:fs';",
      }),
    );
    expect(breaches.map(describeBreach)).toEqual([
      'models/a.ts: imports ./missing.js, which does not resolve',
    ]);
  });

  it('reports a listed module that does not exist', () => {
    const breaches = scanPurity([`${root}/uptane/verify.ts`], root, host({}));
    expect(breaches.map(describeBreach)).toEqual(['uptane/verify.ts: does not exist']);
  });
});
