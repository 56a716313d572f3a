/**
 * Comparisons of trusted metadata used by the `TrustedMetadataSet`: whether a top-level role's
 * keys changed between two roots (TUF 5.3.11), and byte equality. Pure: no I/O, no clock.
 *
 * @module
 */
import { encodeCanonical } from '../canonical/index.js';
import { getOwn, type Root } from '../models/index.js';

/**
 * True when `role`'s keys (ids or key material) or threshold differ between two roots: the
 * condition of TUF 5.3.11 fast-forward attack recovery.
 *
 * @example
 * ```ts
 * if (roleKeysChanged(oldRoot.signed, newRoot.signed, 'timestamp')) { … }
 * ```
 */
export function roleKeysChanged(
  before: Root,
  after: Root,
  role: 'timestamp' | 'snapshot',
): boolean {
  const a = before.roles[role];
  const b = after.roles[role];
  if (a.threshold !== b.threshold) return true;
  const idsA = [...a.keyids].sort();
  const idsB = [...b.keyids].sort();
  if (idsA.length !== idsB.length || idsA.some((id, i) => id !== idsB[i])) return true;
  return idsA.some((id) => {
    const keyA = getOwn(before.keys, id);
    const keyB = getOwn(after.keys, id);
    if (keyA === undefined || keyB === undefined) return keyA !== keyB;
    return !sameBytes(encodeCanonical(keyA.toJSON()), encodeCanonical(keyB.toJSON()));
  });
}

/** Whether two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
