/**
 * `parseJsonWithCanonicalMember`: the parser's proof that a member's bytes are already canonical
 * JSON. Signatures are verified over those bytes without re-encoding, so the proof must never be
 * wrong: whenever bytes are returned they must equal `encodeCanonical` of the parsed member, for
 * any spelling of the input. And the fast path must actually be taken for canonical input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeCanonical,
  type JsonObject,
  type JsonValue,
  parseJson,
  parseJsonWithCanonicalMember,
} from '../../src/canonical/index.js';
import { FormatError } from '../../src/errors.js';

const utf8 = new TextEncoder();
const bytesOf = (s: string): Uint8Array => utf8.encode(s);
const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** Characters that stress escaping, key order and the ASCII-only rule. */
const ALPHABET = ['a', 'b', 'Z', '0', ' ', '/', '"', '\\', '\u0001', '\n', '\u007f', 'é', '😀'];
const str = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 6 });
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => (n === 0 ? 0 : n)),
    str,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(str, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** `value` written with its keys in reverse order, so any object of 2+ keys is unsorted. */
function reversedKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort().reverse()) {
    Object.defineProperty(out, key, {
      value: reversedKeys(value[key] as JsonValue),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The spellings an attacker or another writer may use for the same envelope. */
const SPELLINGS: Record<string, (envelope: JsonObject) => Uint8Array> = {
  canonical: (e) => encodeCanonical(e),
  stringify: (e) => bytesOf(JSON.stringify(e)),
  indented: (e) => bytesOf(JSON.stringify(e, null, 1)),
  reversed: (e) => bytesOf(JSON.stringify(reversedKeys(e))),
  escapedSlash: (e) => bytesOf(JSON.stringify(e).replaceAll('/', '\\/')),
};

describe('parseJsonWithCanonicalMember', () => {
  it('returns bytes only when they are the canonical encoding of the member, for any spelling', () => {
    fc.assert(
      fc.property(json, json, fc.constantFrom(...Object.keys(SPELLINGS)), (signed, other, how) => {
        const envelope: JsonObject = { signatures: other, signed };
        let input: Uint8Array;
        try {
          input = SPELLINGS[how]!(envelope);
          parseJson(input);
        } catch (error) {
          // Canonical JSON of a control character is not always parseable as written; skip.
          if (error instanceof FormatError) return;
          throw error;
        }
        const { value, canonicalMember } = parseJsonWithCanonicalMember(input, 'signed');
        expect(value).toEqual(parseJson(input));
        if (canonicalMember !== undefined) {
          expect(text(canonicalMember)).toBe(text(encodeCanonical((value as JsonObject).signed)));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the fast path for canonical ASCII input', () => {
    const ascii = fc.string({
      unit: fc.constantFrom('a', 'Z', '0', ' ', '/', '"', '\\', '\u0001'),
      maxLength: 6,
    });
    const asciiJson: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -1_000, max: 1_000 }).map((n) => (n === 0 ? 0 : n)),
        ascii,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(ascii, tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    fc.assert(
      fc.property(asciiJson, (signed) => {
        const input = encodeCanonical({ signatures: [], signed });
        const { canonicalMember } = parseJsonWithCanonicalMember(input, 'signed');
        expect(text(canonicalMember)).toBe(text(encodeCanonical(signed)));
      }),
      { numRuns: 500 },
    );
  });

  it('is a view into the input', () => {
    const input = bytesOf('{"signatures":[],"signed":{"a":1,"b":[true,null]}}');
    const { canonicalMember } = parseJsonWithCanonicalMember(input, 'signed');
    expect(text(canonicalMember)).toBe('{"a":1,"b":[true,null]}');
    expect(canonicalMember?.buffer).toBe(input.buffer);
  });

  it.each([
    ['whitespace inside the member', '{"signed":{"a": 1}}'],
    ['whitespace inside an empty object', '{"signed":{ }}'],
    ['whitespace before the member value', '{"signed": {"a":1}}'],
    ['keys out of order', '{"signed":{"b":1,"a":2}}'],
    ['keys out of order in a nested object', '{"signed":{"a":{"d":1,"c":2}}}'],
    ['an escaped slash', '{"signed":{"a":"x\\/y"}}'],
    ['a \\u escape of a plain character', '{"signed":{"a":"\\u0041"}}'],
    ['a \\n escape (canonical JSON writes it raw)', '{"signed":{"a":"x\\ny"}}'],
    ['non-ASCII anywhere in the input', '{"other":"é","signed":{"a":1}}'],
    ['no such member', '{"signature":{"a":1}}'],
    ['a top-level array', '[{"signed":{"a":1}}]'],
    ['a nested member of that name only', '{"x":{"signed":{"a":1}}}'],
  ])('gives no bytes for %s', (_, input) => {
    const { value, canonicalMember } = parseJsonWithCanonicalMember(bytesOf(input), 'signed');
    expect(value).toEqual(JSON.parse(input));
    expect(canonicalMember).toBeUndefined();
  });

  it('allows whitespace and any spelling outside the member', () => {
    const input = bytesOf('{ "z" : [ 1 , "\\/" ] , "signed":{"a":"\\"\\\\"} , "b":2 }');
    const { canonicalMember } = parseJsonWithCanonicalMember(input, 'signed');
    expect(text(canonicalMember)).toBe('{"a":"\\"\\\\"}');
  });

  it('refuses what parseJson refuses', () => {
    expect(() =>
      parseJsonWithCanonicalMember(bytesOf('{"signed":{"a":1,"a":1}}'), 'signed'),
    ).toThrow(FormatError);
    expect(() => parseJsonWithCanonicalMember(bytesOf('{"signed":1.5}'), 'signed')).toThrow(
      FormatError,
    );
  });
});
