/**
 * The one dependency rule (shared/DESIGN.md): the pure core never touches the file system,
 * network, processes, adapter folders or the clock, so it can be tested with bytes alone and run
 * on other runtimes. This test reads the sources and fails on a breach.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

const PURE = [
  'models',
  'canonical',
  'crypto',
  'client/trusted-set.ts',
  'client/role-keys.ts',
  'uptane/verify',
  'uptane/director/manifest-processing.ts',
];
const FORBIDDEN_MODULES = [
  /^node:(fs|net|http|https|http2|child_process|dgram|tls|dns|worker_threads)(\/|$)/,
  /^(fs|net|http|https|child_process)$/,
  /^undici$/,
  /\/(transport|storage|signers|server|cli|device\/slots)\//,
];
const FORBIDDEN_CODE: [RegExp, string][] = [
  [/\bDate\.now\(\)/, 'reads the clock (Date.now())'],
  [/new Date\(\s*\)/, 'reads the clock (new Date())'],
  [/\bfetch\(/, 'uses global fetch'],
  [/\bprocess\.env\b/, 'reads the environment'],
];

function listTs(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return [];
  if (stat.isFile()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) => listTs(join(path, name)));
}

function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const re = /(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) specifiers.push((m[1] ?? m[2]) as string);
  return specifiers;
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('architecture: the pure core stays pure', () => {
  const files = PURE.flatMap((p) => listTs(join(SRC, p)));

  it('has pure-core files to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const file of files) {
    const name = relative(SRC, file);
    it(`${name} imports no I/O module and reads no clock`, () => {
      const source = readFileSync(file, 'utf8');
      const bad = importsOf(source).filter((spec) => FORBIDDEN_MODULES.some((re) => re.test(spec)));
      expect(bad, `${name} imports ${bad.join(', ')}`).toEqual([]);
      const code = stripComments(source);
      for (const [re, what] of FORBIDDEN_CODE) {
        expect(re.test(code), `${name} ${what}`).toBe(false);
      }
    });
  }
});
