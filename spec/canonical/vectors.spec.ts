/**
 * The reference vectors: outputs of securesystemslib's `encode_canonical` (the encoder python-tuf
 * signs with), see spec/vectors/README.md. Every `canonical_hex` line must be reproduced byte
 * for byte, whether the input was parsed by `JSON.parse` or by our strict parser (from a string
 * and from UTF-8 bytes); every `error` line must be refused by the encoder and by the parser.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, parseJson } from '../../src/canonical/index.js';
import { CanonicalJsonError } from '../../src/errors.js';
import { vectorPath } from '../helpers/vectors.js';

interface Vector {
  name: string;
  input: string;
  canonical_hex?: string;
  error?: string;
}

const vectorFile = vectorPath('canonical-json', 'securesystemslib.jsonl');
const vectors: Vector[] = readFileSync(vectorFile, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Vector);

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const good = vectors.filter((v) => v.canonical_hex !== undefined);
const bad = vectors.filter((v) => v.error !== undefined);

describe('securesystemslib canonical JSON vectors', () => {
  it('are all loaded (15 named edge cases and 300 random documents)', () => {
    expect(vectors).toHaveLength(315);
    expect(good.length + bad.length).toBe(vectors.length);
    expect(bad.length).toBeGreaterThan(0);
  });

  it.each(good.map((v) => [v.name, v] as const))('encodes %s exactly', (_name, vector) => {
    expect(hex(encodeCanonical(JSON.parse(vector.input)))).toBe(vector.canonical_hex);
  });

  it.each(good.map((v) => [v.name, v] as const))(
    'parses %s strictly to the same value',
    (_name, vector) => {
      const fromString = parseJson(vector.input);
      expect(fromString).toEqual(JSON.parse(vector.input));
      expect(hex(encodeCanonical(fromString))).toBe(vector.canonical_hex);
      const fromBytes = parseJson(new TextEncoder().encode(vector.input));
      expect(hex(encodeCanonical(fromBytes))).toBe(vector.canonical_hex);
    },
  );

  it.each(good.map((v) => [v.name, v] as const))(
    'round-trips %s: the canonical bytes parse back to an equal value',
    (_name, vector) => {
      const canonical = Buffer.from(vector.canonical_hex!, 'hex');
      expect(parseJson(canonical)).toEqual(JSON.parse(vector.input));
    },
  );

  it.each(bad.map((v) => [v.name, v] as const))(
    'refuses %s in the encoder and in the parser',
    (_name, vector) => {
      expect(() => encodeCanonical(JSON.parse(vector.input))).toThrow(CanonicalJsonError);
      expect(() => parseJson(vector.input)).toThrow(CanonicalJsonError);
      try {
        parseJson(new TextEncoder().encode(vector.input));
        expect.unreachable();
      } catch (error) {
        // UTF-8 encoding of a string with an escaped lone surrogate keeps the escape: still refused.
        expect((error as CanonicalJsonError).code).toBe('ERR_TUF_CANONICAL_JSON');
      }
    },
  );
});
