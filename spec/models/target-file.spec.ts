import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { TargetFile } from '../../src/models/target-file.js';
import { anyValue, hexDigest } from './entry-arbitraries.js';

/** The spec's rule for one `targets` entry, written independently of the model's readers. */
function isValidEntry(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entry = value as Record<string, unknown>;
  const { length, hashes, custom } = entry;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return false;
  if (typeof hashes !== 'object' || hashes === null || Array.isArray(hashes)) return false;
  const digests = Object.values(hashes);
  if (digests.length === 0) return false;
  if (!digests.every((d) => typeof d === 'string' && /^[0-9a-fA-F]+$/.test(d))) return false;
  if (!Object.hasOwn(entry, 'custom')) return true;
  return typeof custom === 'object' && custom !== null && !Array.isArray(custom);
}

const entry = fc.record(
  {
    length: fc.oneof(fc.nat(), anyValue, fc.constant(2 ** 53)),
    hashes: fc.oneof(
      fc.dictionary(fc.constantFrom('sha256', 'sha512', 'blake2b'), hexDigest, { maxKeys: 3 }),
      fc.dictionary(fc.constantFrom('sha256', 'sha512'), fc.oneof(hexDigest, anyValue), {
        maxKeys: 2,
      }),
      anyValue,
    ),
    custom: fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), anyValue), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

describe('TargetFile.fromJSON (the one-pass common shape and the field-by-field reader agree)', () => {
  it('accepts exactly the valid entries, and gives back what it read', () => {
    fc.assert(
      fc.property(entry, (value) => {
        const valid = isValidEntry(value);
        let read: TargetFile | undefined;
        try {
          read = TargetFile.fromJSON('a/b.bin', value);
        } catch (error) {
          expect(error).toBeInstanceOf(FormatError);
        }
        expect(read !== undefined).toBe(valid);
        if (read === undefined) return;
        expect(read.toJSON()).toEqual(value);
        expect(read.hashes).toBe((value as { hashes: unknown }).hashes);
        const { length: _l, hashes: _h, custom: _c, ...rest } = value as Record<string, unknown>;
        expect(read.unrecognized).toEqual(rest);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads entries with unrecognized fields through the general reader', () => {
    const value = { length: 3, hashes: { sha256: 'ab' }, note: 'kept' };
    expect(TargetFile.fromCommonJSON('x', value)).toBeUndefined();
    expect(TargetFile.fromJSON('x', value).unrecognized).toEqual({ note: 'kept' });
  });

  it('does not read a field inherited through the prototype in the common shape', () => {
    const value = Object.create({ length: 3 }) as Record<string, unknown>;
    value.hashes = { sha256: 'ab' };
    expect(TargetFile.fromCommonJSON('x', value)).toBeUndefined();
    expect(() => TargetFile.fromJSON('x', value)).toThrow(FormatError);
  });

  it('names the entry in the error of a bad entry', () => {
    expect(() => TargetFile.fromJSON('x', { length: -1, hashes: { sha256: 'ab' } }, 't')).toThrow(
      /t\.length must be an integer >= 0/,
    );
  });
});
