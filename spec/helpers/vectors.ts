/**
 * Paths to the interop vectors made by other TUF implementations. They live in the project
 * (`spec/vectors/`, provenance in its README) so that a bare clone runs every interop test;
 * `TUFOTA_VECTORS` points the tests at another copy (e.g. a newer export of the same data).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

/** Root of the vectors; `TUFOTA_VECTORS` overrides it. */
export const VECTORS_DIR = process.env.TUFOTA_VECTORS ?? resolve(PROJECT_ROOT, 'spec', 'vectors');

/** A path under the vectors directory. */
export function vectorPath(...parts: string[]): string {
  return join(VECTORS_DIR, ...parts);
}

/** `python-tuf/...` under the vectors directory. */
export function pythonTufPath(...parts: string[]): string {
  return vectorPath('python-tuf', ...parts);
}

/** Read a vector file as bytes; fail loudly (never skip) when it is missing. */
export function readVector(...parts: string[]): Uint8Array {
  const path = vectorPath(...parts);
  if (!existsSync(path)) {
    throw new Error(
      `interop vector ${path} is missing: the vectors ship in spec/vectors` +
        (process.env.TUFOTA_VECTORS ? ' (TUFOTA_VECTORS points elsewhere)' : ''),
    );
  }
  return new Uint8Array(readFileSync(path));
}
