/**
 * The scanner behind `spec/architecture.spec.ts`: follows a module's imports transitively (relative
 * specifiers resolved to `.ts` sources) and reports every reached file that imports an I/O module,
 * lives in an adapter folder, or reads the clock or environment — with the import chain that
 * reaches it, so a breach through an intermediate module is caught and explained.
 *
 * Type-only imports (`import type …`, `export type … from`) are not followed: they vanish at
 * compile time and pull in no code. Reading goes through a function so tests can scan an
 * in-memory file map.
 */
import { dirname, posix, resolve } from 'node:path';

export const FORBIDDEN_MODULES: RegExp[] = [
  /^node:(fs|net|http|https|http2|child_process|dgram|tls|dns|worker_threads)(\/|$)/,
  /^(fs|net|http|https|http2|child_process|dgram|tls|dns|worker_threads)(\/|$)/,
  /^undici$/,
];

/** Source folders (relative to `src/`) that hold adapters: a pure module must never reach them. */
export const ADAPTER_DIRS = [
  'transport/',
  'storage/',
  'signers/',
  'server/',
  'cli/',
  'device/slots/',
];

export const FORBIDDEN_CODE: [RegExp, string][] = [
  [/\bDate\.now\(\)/, 'reads the clock (Date.now())'],
  [/new Date\(\s*\)/, 'reads the clock (new Date())'],
  [/\bfetch\(/, 'uses global fetch'],
  [/\bprocess\.env\b/, 'reads the environment'],
];

/** One breach: the file, what it does, and the chain of imports from the entry module. */
export interface Breach {
  chain: string[];
  problem: string;
}

export interface ScanHost {
  /** The source text of an absolute path, or `undefined` when there is no such file. */
  read(file: string): string | undefined;
}

/** Runtime import specifiers of `source` (type-only imports and re-exports skipped). */
export function runtimeImportsOf(source: string): string[] {
  const specifiers: string[] = [];
  const re =
    /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[;\n])\s*import\s+['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) {
    if (m[2] !== undefined) continue; // `import type … from` / `export type … from`
    const spec = m[4] ?? m[5] ?? m[6];
    if (spec !== undefined) specifiers.push(spec);
  }
  return specifiers;
}

export function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Resolve a relative specifier (`./x.js`, `../y/index.js`, `../z`) to a `.ts` file. */
function resolveRelative(from: string, spec: string, host: ScanHost): string | undefined {
  const base = resolve(dirname(from), spec);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    `${base}.ts`,
    posix.join(base, 'index.ts'),
    base,
  ];
  return candidates.find((c) => c.endsWith('.ts') && host.read(c) !== undefined);
}

/**
 * Every breach reachable from `entries` (absolute `.ts` paths) under `srcRoot`.
 *
 * @example
 * ```ts
 * scanPurity(['/repo/src/models/index.ts'], '/repo/src', { read: (f) => readIfExists(f) });
 * ```
 */
export function scanPurity(entries: readonly string[], srcRoot: string, host: ScanHost): Breach[] {
  const breaches: Breach[] = [];
  const seen = new Set<string>();
  const queue: string[][] = entries.map((e) => [e]);
  const rel = (f: string) => posix.relative(srcRoot, f);
  while (queue.length > 0) {
    const chain = queue.shift() as string[];
    const file = chain.at(-1) as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const named = chain.map(rel);
    const source = host.read(file);
    if (source === undefined) {
      breaches.push({ chain: named, problem: 'does not exist' });
      continue;
    }
    const where = rel(file);
    if (ADAPTER_DIRS.some((d) => where.startsWith(d))) {
      breaches.push({ chain: named, problem: `is in the adapter folder ${where.split('/')[0]}/` });
    }
    const code = stripComments(source);
    for (const spec of runtimeImportsOf(code)) {
      if (FORBIDDEN_MODULES.some((re) => re.test(spec))) {
        breaches.push({ chain: named, problem: `imports ${spec}` });
      } else if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec, host);
        if (target === undefined) {
          breaches.push({ chain: named, problem: `imports ${spec}, which does not resolve` });
        } else if (!seen.has(target)) {
          queue.push([...chain, target]);
        }
      }
    }
    for (const [re, what] of FORBIDDEN_CODE) {
      if (re.test(code)) breaches.push({ chain: named, problem: what });
    }
  }
  return breaches;
}

/** A breach as one line: `models/a.ts → models/b.ts: imports node:fs`. */
export function describeBreach(breach: Breach): string {
  return `${breach.chain.join(' → ')}: ${breach.problem}`;
}
