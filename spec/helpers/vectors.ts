/**
 * Paths to the interop vectors made by other TUF implementations. CI has `shared/` beside the
 * checkout, so the vectors are `../shared/vectors` from the project root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

/** Root of the shared vectors; `TUFOTA_VECTORS` overrides it. */
export const VECTORS_DIR =
  process.env.TUFOTA_VECTORS ?? resolve(PROJECT_ROOT, '..', 'shared', 'vectors');

/** `python-tuf/...` under the vectors directory. */
export function pythonTufPath(...parts: string[]): string {
  return join(VECTORS_DIR, 'python-tuf', ...parts);
}

/** Read a vector file as bytes; fail loudly when the vectors are missing. */
export function readVector(...parts: string[]): Uint8Array {
  const path = join(VECTORS_DIR, ...parts);
  if (!existsSync(path)) {
    throw new Error(
      `interop vector ${path} is missing: tests expect ../shared/vectors beside the checkout`,
    );
  }
  return new Uint8Array(readFileSync(path));
}
