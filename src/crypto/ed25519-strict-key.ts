/**
 * The strict ed25519 public-key check (`isStrongEd25519PublicKey`), in plain BigInt arithmetic.
 *
 * A key passes when its 32 bytes are the strict RFC 8032 §5.1.3 encoding of a curve point (y
 * below p, a y for which x exists, and no sign bit on x = 0) that is not of small order. The
 * curve's small-order points are its 8 torsion points: y = 1 (the identity), y = p − 1 (order
 * 2), y = 0 (order 4) and y = ±Y8 (order 8); libsodium refuses keys by the same list.
 *
 * Why not `@noble/ed25519`, which answers the same (`Point.fromBytes(raw, false).isSmallOrder()`
 * and `spec/crypto/ed25519-strict-key.spec.ts` checks that they agree): the node provider needs
 * this check on every new key, and importing noble for it made every client process load noble
 * (with `@noble/hashes`, about 60 M instructions of a fresh process's 1,100 M) although
 * `node:crypto` does the verification. Run once per key (the provider caches parsed keys): a few
 * BigInt multiplications and a Jacobi symbol.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */

/** The field prime 2^255 − 19. */
const P = (1n << 255n) - 19n;
/** The curve constant d = −121665 / 121666 mod p. */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
/**
 * y of two of the four points of order 8 (encoded `26e8958f…6d53fc05`); the other two have
 * y = p − Y8 (`c7176a70…92ac037a`).
 */
const Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
/** y of every small-order point: the identity, order 2, order 4, order 8. */
const SMALL_ORDER_Y: ReadonlySet<bigint> = new Set([1n, P - 1n, 0n, Y8, P - Y8]);

/**
 * Whether 32 bytes are an ed25519 public key worth checking signatures against: the canonical
 * encoding (y < p) of a curve point that is not of small order.
 *
 * OpenSSL (and so pyca/cryptography, which the reference uses) verifies against a small-order
 * key such as the identity (`01 00…00`): with it the all-zero-S signature whose R is the identity
 * verifies for *every* message, so such a key in metadata would let anyone sign. Both tufota
 * providers refuse these keys (the noble provider through noble's strict mode, the node provider
 * through this check), so they also agree with each other.
 *
 * @example
 * ```ts
 * isStrongEd25519PublicKey(hexToBytes('01' + '00'.repeat(31))); // false: the identity point
 * ```
 */
export function isStrongEd25519PublicKey(raw: Uint8Array): boolean {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(raw[i]!);
  const xIsOdd = y >> 255n === 1n;
  y &= (1n << 255n) - 1n;
  // RFC 8032 §5.1.3 step 1: a y at or above p is not a canonical encoding.
  if (y >= P) return false;
  // Step 2: x² = (y² − 1) / (d·y² + 1) must have a root; v is never 0 (d is not a square), so
  // it has one exactly when u·v is a square (or 0).
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  const uv = (u * v) % P;
  if (uv !== 0n && jacobi(uv, P) !== 1) return false;
  // Step 4: x = 0 (y = ±1) has no negative, so a set sign bit is not a canonical encoding.
  if (u === 0n && xIsOdd) return false;
  return !SMALL_ORDER_Y.has(y);
}

/**
 * The Jacobi symbol (a/n) for odd n > 0: for the prime p it is the Legendre symbol, 1 exactly
 * when a is a non-zero square mod p. Binary algorithm: shifts, swaps and one reduction per step.
 * Why not Euler's criterion a^((p-1)/2): its 254 squarings of 255-bit numbers took 4.5 ms for a
 * root's five keys in a fresh process (interpreted), this 0.5 ms; every client start pays it.
 */
function jacobi(a: bigint, n: bigint): number {
  let x = a % n;
  let m = n;
  let sign = 1;
  while (x !== 0n) {
    while ((x & 1n) === 0n) {
      x >>= 1n;
      // (2/m) = -1 exactly when m = 3 or 5 mod 8.
      const r = m & 7n;
      if (r === 3n || r === 5n) sign = -sign;
    }
    // Quadratic reciprocity: swapping flips the sign when both are 3 mod 4.
    const t = x;
    x = m;
    m = t;
    if ((x & 3n) === 3n && (m & 3n) === 3n) sign = -sign;
    x %= m;
  }
  return m === 1n ? sign : 0;
}
