import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/crypto/keys.js';
import { sha256 } from '../../src/crypto/sha256.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const reference = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('sha256 (the pure SHA-256 behind computeKeyId)', () => {
  it('gives the FIPS 180-4 example digests', () => {
    expect(bytesToHex(sha256(text('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(bytesToHex(sha256(text('')))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(
      bytesToHex(sha256(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    ).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('agrees with node:crypto on every length around the padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(bytesToHex(sha256(data)), `length ${length}`).toBe(reference(data));
    }
  });

  it('agrees with node:crypto on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => {
        expect(bytesToHex(sha256(data))).toBe(reference(data));
      }),
      { numRuns: 500 },
    );
  });
});
