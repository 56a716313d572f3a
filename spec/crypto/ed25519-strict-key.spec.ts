import { generateKeyPairSync } from 'node:crypto';
import { Point } from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongEd25519PublicKey } from '../../src/crypto/ed25519-strict-key.js';
import { bytesToHex, hexToBytes } from '../../src/crypto/keys.js';

/** What noble says, in strict RFC 8032 decoding: the answer the check must reproduce. */
function nobleStrong(raw: Uint8Array): boolean {
  try {
    return !Point.fromBytes(raw, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** `value` as 32 little-endian bytes, with the sign bit of x set when `xOdd`. */
function encode(value: bigint, xOdd: boolean): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (xOdd) out[31] = out[31]! | 0x80;
  return out;
}

const P = (1n << 255n) - 19n;
const Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;

/** y values that decide the small-order and canonical-encoding cases. */
const SPECIAL_Y = [0n, 1n, 2n, P - 2n, P - 1n, Y8, P - Y8, P, P + 1n, P + 18n, (1n << 255n) - 1n];

function realKey(): Uint8Array {
  const { publicKey } = generateKeyPairSync('ed25519');
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
}

describe('isStrongEd25519PublicKey: the same answers as noble, without loading noble', () => {
  it('refuses all 8 small-order points and every non-canonical encoding of y', () => {
    for (const y of SPECIAL_Y) {
      for (const xOdd of [false, true]) {
        const raw = encode(y, xOdd);
        expect(isStrongEd25519PublicKey(raw), bytesToHex(raw)).toBe(nobleStrong(raw));
        expect(isStrongEd25519PublicKey(raw), bytesToHex(raw)).toBe(false);
      }
    }
    // libsodium's list names the order-8 points by these encodings.
    for (const hex of [
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    ]) {
      expect(nobleStrong(hexToBytes(hex))).toBe(false);
      expect(isStrongEd25519PublicKey(hexToBytes(hex))).toBe(false);
    }
  });

  it('accepts real keys, and their negations, as noble does', () => {
    for (let i = 0; i < 50; i++) {
      const raw = realKey();
      expect(isStrongEd25519PublicKey(raw)).toBe(true);
      const negated = raw.slice();
      negated[31] = negated[31]! ^ 0x80;
      expect(isStrongEd25519PublicKey(negated)).toBe(nobleStrong(negated));
    }
  });

  it('agrees with noble on random bytes (about half are not on the curve)', () => {
    let onCurve = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        const expected = nobleStrong(raw);
        if (expected) onCurve++;
        expect(isStrongEd25519PublicKey(raw)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    expect(onCurve).toBeGreaterThan(500);
  });

  it('agrees with noble on small multiples of torsion points added to real keys', () => {
    // A real key plus a small-order point has full order but a torsion part: still accepted.
    const torsion = Point.fromBytes(encode(Y8, false), true);
    for (let i = 0; i < 20; i++) {
      const raw = Point.fromBytes(realKey()).add(torsion).toBytes();
      expect(isStrongEd25519PublicKey(raw)).toBe(nobleStrong(raw));
    }
  });

  it('refuses anything that is not 32 bytes', () => {
    expect(isStrongEd25519PublicKey(new Uint8Array(31))).toBe(false);
    expect(isStrongEd25519PublicKey(new Uint8Array(33))).toBe(false);
    expect(isStrongEd25519PublicKey('00' as unknown as Uint8Array)).toBe(false);
  });
});
