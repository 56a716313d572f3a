/**
 * The README's examples are code, not prose: every ```ts block is written to a module and run,
 * so a change that breaks the documented API breaks the build.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from './helpers/vectors.js';

const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const workDir = join(PROJECT_ROOT, 'spec', '.readme-examples');

describe('README examples', () => {
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('has at least one TypeScript example', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, async () => {
      mkdirSync(workDir, { recursive: true });
      const file = join(workDir, `example-${i + 1}.ts`);
      writeFileSync(file, code);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await import(file);
        // Each example reports what it did; an example that prints nothing proved nothing.
        expect(log).toHaveBeenCalled();
        expect(String(log.mock.calls.at(-1)?.[0])).not.toMatch(/undefined|NaN/);
      } finally {
        log.mockRestore();
      }
    });
  });
});
