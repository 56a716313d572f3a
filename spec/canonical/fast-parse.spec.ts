/**
 * The `JSON.parse` fast path of the strict parser (`src/canonical/fast-parse.ts`) against the
 * strict parser alone: for any text, both refuse it with the same error, or both give the same
 * value (same keys in the same order) and the same canonical-member bytes. A difference would
 * be a parser differential: one signed document read two ways. Also checks that the fast path
 * is taken for what repositories write, and refused for each input class it must leave to the
 * strict parser.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastParse } from '../../src/canonical/fast-parse.js';
import {
  encodeCanonical,
  type JsonValue,
  parseJson,
  parseJsonWithCanonicalMember,
} from '../../src/canonical/index.js';
import {
  FAST_PARSE_MIN_LENGTH,
  parseJsonWithCanonicalMemberFast,
  parseJsonWithCanonicalMemberStrictly,
} from '../../src/canonical/parse.js';
import { CanonicalJsonError, FormatError } from '../../src/errors.js';

const utf8 = new TextEncoder();

/** Objects as ordered [key, value] lists, so that comparisons see key order too. */
function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (typeof value === 'object' && value !== null) {
    return Object.keys(value).map((k) => [k, ordered((value as Record<string, unknown>)[k])]);
  }
  return value;
}

type Outcome = { error: string } | { value: unknown; member: number[] | undefined };

function outcome(
  read: () => { value: JsonValue; canonicalMember: Uint8Array | undefined },
): Outcome {
  try {
    const { value, canonicalMember } = read();
    return {
      value: ordered(value),
      member: canonicalMember === undefined ? undefined : [...canonicalMember],
    };
  } catch (error) {
    return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

/** Both readers on `text`, wrapped as a document's `signed` member and alone. */
function expectSameAnswers(text: string): void {
  for (const candidate of [text, `{"signatures":[],"signed":${text}}`]) {
    const bytes = utf8.encode(candidate);
    const strict = outcome(() => parseJsonWithCanonicalMemberStrictly(bytes, 'signed'));
    const fast = outcome(() => parseJsonWithCanonicalMemberFast(bytes, 'signed'));
    expect(fast, candidate).toEqual(strict);
  }
}

/** Characters that stress escaping, key order, integer-like keys and the ASCII rule. */
const ALPHABET = ['a', 'b', 'Z', '0', '1', '9', ' ', '/', '"', '\\', '\u0001', '\n', 'é', '😀'];
const str = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 5 });
const integer = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 60, 1e21),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    integer as fc.Arbitrary<JsonValue>,
    str,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(str, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Ways a value can be written, canonical or not. */
function spellings(value: JsonValue): string[] {
  const out = [JSON.stringify(value), JSON.stringify(value, null, 1)];
  try {
    out.push(new TextDecoder().decode(encodeCanonical(value)));
  } catch {
    // A float or unsafe integer has no canonical form.
  }
  return out;
}

describe('fast path: the same answers as the strict parser', () => {
  it('for any value, in every spelling', () => {
    fc.assert(
      fc.property(json, (value) => {
        for (const text of spellings(value)) expectSameAnswers(text);
      }),
      { numRuns: 600 },
    );
  });

  it('for any text made of JSON tokens (mostly invalid JSON)', () => {
    const token = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"a"',
      '"b"',
      '"__proto__"',
      '"1"',
      '"10"',
      '"9"',
      '0',
      '-0',
      '1',
      '1.0',
      '1e2',
      '1E+2',
      '9007199254740993',
      '1152921504606846976',
      'true',
      'null',
      ' ',
      '"\\u0041"',
      '"\\ud800"',
      '"\\"',
      '01',
      '"x\u0001"',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 14 }), (tokens) =>
        expectSameAnswers(tokens.join('')),
      ),
      { numRuns: 3000 },
    );
  });

  // biome-ignore format: table
  const cases: [string, string][] = [
    ['duplicate key', '{"a":1,"a":1}'],
    ['duplicate key, other value', '{"a":1,"a":2}'],
    ['fraction', '{"a":1.5}'],
    ['fraction spelled as an integer', '{"a":1.0}'],
    ['exponent', '{"a":1e21}'],
    ['exponent as JSON.stringify writes it', '{"a":1e+21}'],
    ['negative zero', '{"a":-0}'],
    ['2^53 + 1, which JSON.parse rounds', '{"a":9007199254740993}'],
    ['2^60, exact as a double but unsafe', '{"a":1152921504606846976}'],
    ['escaped lone surrogate', '{"a":"\\ud800"}'],
    ['escaped ASCII', '{"a":"\\u0041"}'],
    ['raw control character, which only the strict parser accepts', '{"a":"x\u0001"}'],
    ['whitespace', '{ "a": 1 }'],
    ['integer-like keys out of V8 order', '{"10":1,"9":2}'],
    ['unsorted keys', '{"b":1,"a":2}'],
    ['__proto__ key', '{"__proto__":{"polluted":1}}'],
    ['non-ASCII', '{"a":"é"}'],
    ['trailing comma', '{"a":1,}'],
    ['leading zero', '{"a":01}'],
    ['comment', '{"a":1/* c */}'],
    ['top-level scalar', '7'],
    ['nested empty containers', '{"a":[],"b":{},"c":[[{}]]}'],
  ];
  for (const [name, text] of cases) {
    it(`for ${name}: ${text}`, () => expectSameAnswers(text));
  }

  it('for nesting at and beyond maxDepth', () => {
    for (const depth of [1, 2, 3, 4]) {
      const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      for (const maxDepth of [0, 1, 2, 3]) {
        const bytes = utf8.encode(text);
        const strict = outcome(() =>
          parseJsonWithCanonicalMemberStrictly(bytes, 'signed', { maxDepth }),
        );
        const fast = outcome(() => parseJsonWithCanonicalMemberFast(bytes, 'signed', { maxDepth }));
        expect(fast, `${text} maxDepth ${maxDepth}`).toEqual(strict);
      }
    }
  });
});

describe('fast path: when it is taken', () => {
  it('is taken for compact key-sorted metadata, with the signed member canonical', () => {
    const text =
      '{"signatures":[{"keyid":"ab","sig":"cd"}],"signed":{"_type":"snapshot","meta":{"bins-0.json":{"hashes":{"sha256":"00"},"length":10,"version":1}},"spec_version":"1.0.31","version":2}}';
    const fast = fastParse(text, 64, 'signed');
    expect(fast?.member?.canonical).toBe(true);
    const signed = text.slice(fast?.member?.start, fast?.member?.end);
    expect(signed).toBe(new TextDecoder().decode(encodeCanonical(JSON.parse(text).signed)));
  });

  // biome-ignore format: table
  const refused: [string, string][] = [
    ['a backslash anywhere', '{"a":"\\""}'],
    ['whitespace', '{"a": 1}'],
    ['a duplicate key', '{"a":1,"a":1}'],
    ['an unsafe integer JSON.stringify writes back exactly', '{"a":1152921504606846976}'],
    ['a fraction', '{"a":1.5}'],
    ['nesting beyond maxDepth', '[[[]]]'],
    ['invalid JSON', '{"a":1,}'],
  ];
  for (const [name, text] of refused) {
    it(`is refused for ${name}`, () => {
      expect(fastParse(text, 2, undefined)).toBeUndefined();
    });
  }

  it('reports unsorted keys in the member as not canonical, and the value is still read', () => {
    const fast = fastParse('{"signed":{"b":1,"a":2}}', 64, 'signed');
    expect(fast?.member?.canonical).toBe(false);
    expect(ordered(fast?.value)).toEqual([
      [
        'signed',
        [
          ['b', 1],
          ['a', 2],
        ],
      ],
    ]);
  });

  it('keeps a __proto__ key as an own property, never the prototype', () => {
    const value = parseJson('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('is tried by the public parsers for large inputs, with the same results', () => {
    const meta: Record<string, unknown> = {};
    for (let i = 0; i < 2000; i++) {
      meta[`bins-${i.toString(16).padStart(3, '0')}.json`] = { length: i, version: 1 };
    }
    const text = JSON.stringify({ signatures: [], signed: { _type: 'snapshot', meta } });
    expect(text.length).toBeGreaterThan(FAST_PARSE_MIN_LENGTH);
    const bytes = utf8.encode(text);
    expect(fastParse(text, 64, 'signed')?.member?.canonical).toBe(true);
    const auto = parseJsonWithCanonicalMember(bytes, 'signed');
    const strict = parseJsonWithCanonicalMemberStrictly(bytes, 'signed');
    expect(ordered(auto.value)).toEqual(ordered(strict.value));
    expect(auto.canonicalMember).toEqual(strict.canonicalMember);
    expect(ordered(parseJson(bytes))).toEqual(ordered(strict.value));
    // A duplicate key in a large document is still refused, by the strict parser.
    expect(() => parseJson(`${text.slice(0, -1)},"signed":{}}`)).toThrow(/duplicate key/);
  });

  it('leaves refusals to the strict parser, with its exact errors', () => {
    expect(() => parseJson('{"a":1152921504606846976}')).toThrow(CanonicalJsonError);
    expect(() => parseJson('{"a":1,"a":1}')).toThrow(/duplicate key "a"/);
    expect(() => parseJson('{"a":1,}')).toThrow(FormatError);
  });
});
