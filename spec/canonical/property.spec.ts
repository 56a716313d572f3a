/**
 * Property tests: the encoder against an independent, deliberately naive reference, and the
 * parser against JSON.parse and as the encoder's inverse.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, type JsonValue, parseJson } from '../../src/canonical/index.js';
import { CanonicalJsonError, FormatError } from '../../src/errors.js';

/** Characters that stress escaping, UTF-8 widths and code-point key order. */
const ALPHABET = [
  'a',
  'b',
  'Z',
  '0',
  ' ',
  '/',
  '"',
  '\\',
  '\u0000',
  '\u0001',
  '\t',
  '\n',
  '\u001f',
  '\u007f',
  '\u0080',
  'é',
  'ß',
  '日',
  '\u2028',
  '\ud7ff',
  '\ue000',
  '\uffff',
  '😀',
  '\u{10000}',
  '\u{10FFFF}',
];

const text = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 8 });

const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger().map((n) => (n === 0 ? 0 : n)), // never -0
    text,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(text, tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** Compare by Unicode code point, the obvious way: spread into code points. */
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}

/** The OLPC rules, written as plainly as possible (recursive, string-building). */
function referenceCanonical(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string')
    return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(',')}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${referenceCanonical(k)}:${referenceCanonical(value[k]!)}`).join(',')}}`;
}

const utf8 = new TextEncoder();

/** Whether `s` has no lone surrogate (String.prototype.isWellFormed is not in our TS lib). */
const isWellFormed = (s: string): boolean =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('canonical JSON properties', () => {
  it('encodeCanonical equals the naive reference encoder', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(encodeCanonical(value)).toEqual(utf8.encode(referenceCanonical(value)));
      }),
      { numRuns: 2000 },
    );
  });

  it('parseJson inverts encodeCanonical and reads JSON.stringify output', () => {
    fc.assert(
      fc.property(json, (value) => {
        const canonical = encodeCanonical(value);
        expect(parseJson(canonical)).toEqual(value);
        expect(encodeCanonical(parseJson(canonical))).toEqual(canonical);
        expect(parseJson(JSON.stringify(value, null, 1))).toEqual(value);
      }),
      { numRuns: 1000 },
    );
  });

  it('every string with a lone surrogate is refused by the encoder', () => {
    const lone = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
    fc.assert(
      fc.property(text, lone, text, (before, half, after) => {
        // Pasting a half next to a whole pair keeps it lone; next to another half it may pair.
        const s = before + half + after;
        if (isWellFormed(s)) return;
        expect(() => encodeCanonical({ [s]: 1 })).toThrow(CanonicalJsonError);
        expect(() => encodeCanonical([s])).toThrow(CanonicalJsonError);
        expect(() => parseJson(JSON.stringify(s))).toThrow(CanonicalJsonError);
      }),
    );
  });

  it('on JSON-like noise, parseJson agrees with JSON.parse or refuses with a FormatError', () => {
    // No control characters (JSON.parse refuses raw ones, parseJson accepts them on purpose).
    const noise = fc.string({
      unit: fc.constantFrom(...'{}[]:,"\\ -0123456789.eE+tfrunlasxu\ud800\ude00é'),
      maxLength: 24,
    });
    fc.assert(
      fc.property(noise, (input) => {
        let expected: unknown;
        let jsonParseOk = true;
        try {
          expected = JSON.parse(input);
        } catch {
          jsonParseOk = false;
        }
        try {
          const value = parseJson(input);
          expect(jsonParseOk).toBe(true);
          expect(value).toEqual(expected);
        } catch (error) {
          expect(error).toBeInstanceOf(FormatError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
