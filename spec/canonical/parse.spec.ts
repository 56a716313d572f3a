import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, parseJson } from '../../src/canonical/index.js';
import { CanonicalJsonError, FormatError } from '../../src/errors.js';
import { pythonTufPath } from '../helpers/vectors.js';

const metadataDir = pythonTufPath('repository', 'metadata');
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Run `fn`, expect an error with `code`, return it. */
function refusal(fn: () => unknown, code: 'ERR_TUF_FORMAT' | 'ERR_TUF_CANONICAL_JSON') {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(code === 'ERR_TUF_FORMAT' ? FormatError : CanonicalJsonError);
    expect((error as FormatError).code).toBe(code);
    return error as FormatError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}
const formatError = (input: string | Uint8Array, options?: Parameters<typeof parseJson>[1]) =>
  refusal(() => parseJson(input, options), 'ERR_TUF_FORMAT');
const canonicalError = (input: string | Uint8Array) =>
  refusal(() => parseJson(input), 'ERR_TUF_CANONICAL_JSON');

describe('parseJson: accepted input', () => {
  it('parses every value kind, from bytes and from strings', () => {
    const text = ' {"a": [1, -2, 0, true, false, null, "s", {}, []], "b": {"c": "d"}} \n';
    const expected = { a: [1, -2, 0, true, false, null, 's', {}, []], b: { c: 'd' } };
    expect(parseJson(text)).toEqual(expected);
    expect(parseJson(utf8(text))).toEqual(expected);
  });

  it('accepts any top-level value (RFC 8259)', () => {
    expect(parseJson('7')).toBe(7);
    expect(parseJson('"x"')).toBe('x');
    expect(parseJson('null')).toBeNull();
    expect(parseJson(' true\t')).toBe(true);
  });

  it('decodes every escape, including surrogate pairs', () => {
    expect(
      parseJson('"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041\\u00e9\\u65E5\\ud83d\\ude00"'),
    ).toBe('" \\ / \b \f \n \r \t Aé日😀');
    expect(parseJson('"\\u0000"')).toBe('\u0000');
  });

  it('finds escapes wherever they are among escape-free strings', () => {
    // The fast path remembers the next backslash; strings before, at and after it must all work.
    const value = ['a', 'b\n', 'c', 'd"e', '', 'f\\', { 'k\t': 'v', x: '\\' }, 'tail'];
    expect(parseJson(JSON.stringify(value))).toEqual(value);
    expect(parseJson(JSON.stringify(value, null, 2))).toEqual(value);
    expect(parseJson(String.raw`["x\\"]`)).toEqual(['x\\']);
    expect(parseJson(String.raw`["\\", "\\\"", "\"", "a"]`)).toEqual(['\\', '\\"', '"', 'a']);
    expect(() => parseJson(String.raw`["x\"]`)).toThrow(FormatError);
  });

  it('accepts raw control characters and U+2028, as canonical JSON writes them', () => {
    expect(parseJson(bytes(0x22, 0x01, 0x0a, 0x09, 0x1f, 0x22))).toBe('\u0001\n\t\u001f');
    expect(parseJson(utf8('"\u2028\u2029"'))).toBe('\u2028\u2029');
  });

  it('accepts the safe integer extremes', () => {
    expect(parseJson('[9007199254740991,-9007199254740991,0]')).toEqual([
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      0,
    ]);
  });

  it('keeps object keys in document order and accepts keys that look like prototypes', () => {
    const value = parseJson('{"toString": 1, "constructor": 2, "hasOwnProperty": 3}');
    expect(value).toEqual({ toString: 1, constructor: 2, hasOwnProperty: 3 });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('makes "__proto__" an own data property and never changes a prototype', () => {
    const value = parseJson('{"__proto__": {"polluted": true}, "a": {"__proto__": []}}') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(value.a)).toBe(Object.prototype);
    // The same bytes as JSON.parse gives, and they re-encode to themselves.
    expect(encodeCanonical(value)).toEqual(
      encodeCanonical(JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":[]}}')),
    );
    refusal(() => parseJson('{"__proto__": 1, "__proto__": 2}'), 'ERR_TUF_FORMAT');
  });

  it('parses real python-tuf metadata exactly as JSON.parse does', () => {
    for (const name of [
      'root.json',
      'targets.json',
      'snapshot.json',
      'timestamp.json',
      'role1.json',
    ]) {
      const raw = readFileSync(join(metadataDir, name));
      expect(parseJson(raw)).toEqual(JSON.parse(raw.toString('utf8')));
    }
  });
});

describe('parseJson: refusals', () => {
  it.each([
    ['a fraction', '{"version": 1.0}'],
    ['an exponent', '{"version": 1e3}'],
    ['a capital exponent', '[1E3]'],
    ['a huge exponent', '1e400'],
    ['a negative fraction', '-0.5'],
    ['-0', '{"x": -0}'],
    ['2^53', '9007199254740992'],
    ['-(2^53)', '-9007199254740992'],
    ['a 30-digit integer', '123456789012345678901234567890'],
    ['a 100,000-digit integer', '9'.repeat(100_000)],
    ['an escaped lone high surrogate', '"\\ud800"'],
    ['an escaped lone low surrogate', '"\\udc00"'],
    ['a high surrogate escape then a non-surrogate escape', '"\\ud83d\\u0041"'],
    ['reversed surrogate escapes', '"\\ude00\\ud83d"'],
    ['a lone surrogate escape in a key', '{"\\udfff": 1}'],
    ['a raw lone surrogate in string input', '"a\ud800b"'],
    ['an escaped high surrogate then a raw low one', '"\\ud83d\ude00"'],
  ])('refuses %s with ERR_TUF_CANONICAL_JSON', (_name, text) => {
    canonicalError(text);
  });

  it.each([
    ['empty input', ''],
    ['only whitespace', ' \n'],
    ['a trailing comma in an array', '[1,]'],
    ['a trailing comma in an object', '{"a":1,}'],
    ['a missing comma', '[1 2]'],
    ['a missing colon', '{"a" 1}'],
    ['an unquoted key', '{a: 1}'],
    ['a single-quoted string', "'a'"],
    ['a comment', '[1 /* c */]'],
    ['a leading zero', '01'],
    ['a negative leading zero', '-01'],
    ['a plus sign', '+1'],
    ['a bare minus', '-'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['a hex number', '0x10'],
    ['trailing garbage', '{} x'],
    ['two values', '1 2'],
    ['a truncated literal', 'tru'],
    ['a capitalised literal', 'True'],
    ['an unterminated string', '"abc'],
    ['an unterminated string ending in an escape', '"abc\\'],
    ['an invalid escape', '"\\x41"'],
    ['a short \\u escape', '"\\u12"'],
    ['a non-hex \\u escape', '"\\u12g4"'],
    ['a mismatched bracket', '[1}'],
    ['a non-string key', '{1: 2}'],
    ['a vertical tab as whitespace', '\u000b1'],
    ['a non-breaking space as whitespace', '\u00a01'],
    ['a NUL after the value', '1\u0000'],
  ])('refuses %s with ERR_TUF_FORMAT', (_name, text) => {
    formatError(text);
    formatError(utf8(text));
  });

  it('refuses duplicate keys, also when spelled with escapes', () => {
    expect(formatError('{"a": 1, "b": 2, "a": 3}').message).toContain('duplicate key "a"');
    formatError('{"a": 1, "\\u0061": 2}');
    formatError('{"x": {"k": [], "k": []}}');
    // Keys in increasing order skip the look-up; a repeat after a key out of order must not.
    expect(formatError('{"b": 1, "a": 2, "b": 3}').message).toContain('duplicate key "b"');
    expect(formatError('{"a":1,"c":2,"b":3,"c":4}').message).toContain('duplicate key "c"');
    expect(formatError('{"b":{"a":1},"a":2,"b":3}').message).toContain('duplicate key "b"');
    formatError('{"":1,"a":2,"":3}');
    // The same key in different objects is fine.
    expect(parseJson('[{"a": 1}, {"a": 2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('refuses a byte order mark rather than stripping it', () => {
    expect(formatError(bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d)).message).toContain('byte order mark');
    formatError('\ufeff{}');
  });

  it.each([
    ['a lone 0xFF byte', bytes(0x22, 0xff, 0x22)],
    ['a lone continuation byte', bytes(0x22, 0x80, 0x22)],
    ['a truncated 2-byte sequence', bytes(0x22, 0xc3, 0x22)],
    ['a truncated 4-byte sequence at the end', bytes(0x22, 0xf0, 0x9f, 0x98)],
    ['an overlong "/" (C0 AF)', bytes(0x22, 0xc0, 0xaf, 0x22)],
    ['an overlong NUL (E0 80 80)', bytes(0x22, 0xe0, 0x80, 0x80, 0x22)],
    ['an encoded surrogate (ED A0 80)', bytes(0x22, 0xed, 0xa0, 0x80, 0x22)],
    ['a code point above U+10FFFF (F4 90 80 80)', bytes(0x22, 0xf4, 0x90, 0x80, 0x80, 0x22)],
    ['Latin-1 text', bytes(0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d)],
    ['UTF-16 text', bytes(0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00)],
  ])('refuses non-UTF-8 input: %s', (_name, input) => {
    expect(formatError(input).message).toContain('not valid UTF-8');
  });

  it('refuses input of the wrong type with a typed error', () => {
    for (const input of [null, undefined, 42, {}, [], new ArrayBuffer(2)]) {
      formatError(input as unknown as string);
    }
  });

  it('reports line, column and the path of the value being read', () => {
    const e = canonicalError('{\n "signed": {\n  "targets": {"a": {"length": 1.5}}}}');
    expect(e.path).toBe('signed.targets.a.length');
    expect(e.message).toContain('line 3 column 31');
    expect(formatError('[0, 1, [2, x]]').path).toBe('[2][1]');
    expect(formatError('{"a b": {"c": tru}}').path).toBe('["a b"].c');
  });
});

describe('parseJson: hostile input', () => {
  it('refuses every truncation of real metadata, never hanging or crashing', () => {
    const raw = readFileSync(join(metadataDir, 'targets.json'));
    for (let end = 0; end < raw.length; end++) {
      const prefix = raw.subarray(0, end);
      if (prefix.toString('utf8').trim() === '') {
        formatError(prefix);
        continue;
      }
      expect(() => parseJson(prefix), `prefix of ${end} bytes`).toThrow(FormatError);
    }
    expect(parseJson(raw)).toBeTypeOf('object');
  });

  it.each([
    ['arrays', '['.repeat(10_000) + ']'.repeat(10_000)],
    ['objects', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)],
    ['unclosed arrays', '['.repeat(10_000)],
    ['100,000 unclosed mixed containers', '[{"k":'.repeat(50_000)],
  ])('refuses 10,000-level nesting of %s with a typed error', (_name, text) => {
    expect(formatError(text).message).toContain('deeper than maxDepth 512');
  });

  it('parses nesting up to maxDepth, iteratively even when the cap is raised', () => {
    expect(() => parseJson('['.repeat(512) + ']'.repeat(512))).not.toThrow();
    formatError('['.repeat(513) + ']'.repeat(513));
    formatError('[[1]]', { maxDepth: 1 });
    formatError('[[]]', { maxDepth: 1 });
    formatError('{}', { maxDepth: 0 });
    formatError('[]', { maxDepth: 0 });
    expect(parseJson('1', { maxDepth: 0 })).toBe(1);
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    let value = parseJson(deep, { maxDepth: 200_000 });
    let depth = 0;
    while (Array.isArray(value) && value.length > 0) {
      value = value[0]!;
      depth++;
    }
    expect(depth).toBe(200_000 - 1);
  });

  it('refuses input longer than maxLength before decoding it', () => {
    const huge = new Uint8Array(50 * 1024 * 1024).fill(0x20);
    const e = formatError(huge, { maxLength: 1024 * 1024 });
    expect(e.message).toContain('maxLength');
    formatError('[1,2,3]', { maxLength: 6 });
    expect(parseJson('[1,2,3]', { maxLength: 7 })).toEqual([1, 2, 3]);
  });

  it('handles long strings and long runs of escapes in linear time', () => {
    const long = 'x'.repeat(5_000_000);
    expect(parseJson(`"${long}"`)).toHaveLength(5_000_000);
    expect(parseJson(`"${'\\n'.repeat(1_000_000)}"`)).toHaveLength(1_000_000);
    formatError(`"${long}`);
  });

  it('rejects nonsensical options', () => {
    expect(() => parseJson('1', { maxDepth: -1 })).toThrow(RangeError);
    expect(() => parseJson('1', { maxLength: Number.NaN })).toThrow(RangeError);
  });
});
