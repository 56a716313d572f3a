import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { MetaFile } from '../../src/models/meta-file.js';
import { anyValue, hexDigest } from './entry-arbitraries.js';

/** The spec's rule for one `meta` entry, written independently of the model's readers. */
function isValidEntry(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entry = value as Record<string, unknown>;
  const { version, length, hashes } = entry;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) return false;
  if (Object.hasOwn(entry, 'length')) {
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return false;
  }
  if (!Object.hasOwn(entry, 'hashes')) return true;
  if (typeof hashes !== 'object' || hashes === null || Array.isArray(hashes)) return false;
  const digests = Object.values(hashes);
  if (digests.length === 0) return false;
  return digests.every((d) => typeof d === 'string' && /^[0-9a-fA-F]+$/.test(d));
}

const entry = fc.record(
  {
    version: fc.oneof(fc.integer({ min: 1, max: 9 }), anyValue, fc.constant(2 ** 53)),
    length: fc.oneof(fc.nat(), anyValue, fc.constant(2 ** 53)),
    hashes: fc.oneof(
      fc.dictionary(fc.constantFrom('sha256', 'sha512'), hexDigest, { maxKeys: 2 }),
      fc.dictionary(fc.constantFrom('sha256'), fc.oneof(hexDigest, anyValue), { maxKeys: 1 }),
      anyValue,
    ),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

describe('MetaFile.fromJSON (the one-pass common shape and the field-by-field reader agree)', () => {
  it('accepts exactly the valid entries, and gives back what it read', () => {
    fc.assert(
      fc.property(entry, (value) => {
        let read: MetaFile | undefined;
        try {
          read = MetaFile.fromJSON(value);
        } catch (error) {
          expect(error).toBeInstanceOf(FormatError);
        }
        expect(read !== undefined).toBe(isValidEntry(value));
        if (read === undefined) return;
        expect(read.toJSON()).toEqual(value);
        const { version: _v, length: _l, hashes: _h, ...rest } = value as Record<string, unknown>;
        expect(read.unrecognized).toEqual(rest);
        // The common shape is read in one pass exactly when there is nothing else to keep.
        expect(MetaFile.fromCommonJSON(value) !== undefined).toBe(Object.keys(rest).length === 0);
      }),
      { numRuns: 3000 },
    );
  });

  it('does not read a field inherited through the prototype in the common shape', () => {
    const value = Object.create({ version: 3 }) as Record<string, unknown>;
    value.length = 1;
    expect(MetaFile.fromCommonJSON(value)).toBeUndefined();
    expect(() => MetaFile.fromJSON(value)).toThrow(FormatError);
  });

  it('names the entry in the error of a bad entry', () => {
    expect(() => MetaFile.fromJSON({ version: 0 }, 'signed.meta["bins-0.json"]')).toThrow(
      /signed\.meta\["bins-0\.json"\]\.version must be an integer >= 1/,
    );
  });
});
