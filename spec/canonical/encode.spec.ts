import { describe, expect, it } from 'vitest';
import { canonicalString, DEFAULT_MAX_DEPTH, encodeCanonical } from '../../src/canonical/index.js';
import { CanonicalJsonError } from '../../src/errors.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Run `fn`, expect a CanonicalJsonError, return it for further assertions. */
function refusal(fn: () => unknown): CanonicalJsonError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CanonicalJsonError);
    expect((error as CanonicalJsonError).code).toBe('ERR_TUF_CANONICAL_JSON');
    return error as CanonicalJsonError;
  }
  throw new Error('expected a CanonicalJsonError, nothing was thrown');
}

describe('encodeCanonical: output', () => {
  it('sorts keys and writes no whitespace', () => {
    expect(canonicalString({ b: 1, a: [true, false, null], c: { z: '', y: {} } })).toBe(
      '{"a":[true,false,null],"b":1,"c":{"y":{},"z":""}}',
    );
  });

  it('writes scalars and empty containers at the top level', () => {
    expect(canonicalString('')).toBe('""');
    expect(canonicalString(0)).toBe('0');
    expect(canonicalString(-7)).toBe('-7');
    expect(canonicalString(true)).toBe('true');
    expect(canonicalString(null)).toBe('null');
    expect(canonicalString([])).toBe('[]');
    expect(canonicalString({})).toBe('{}');
    expect(canonicalString([[], [{}], [[[]]]])).toBe('[[],[{}],[[[]]]]');
  });

  it('escapes only quote and backslash', () => {
    expect(canonicalString('a"b\\c/d')).toBe('"a\\"b\\\\c/d"');
    expect(canonicalString({ 'k"\\': 1 })).toBe('{"k\\"\\\\":1}');
  });

  it('writes control characters, DEL and U+2028/U+2029 literally', () => {
    const s = '\u0000\u0001\b\t\n\f\r\u001f\u007f\u2028\u2029';
    expect(hex(encodeCanonical(s))).toBe('2200010809 0a0c0d1f7fe280a8e280a922'.replace(' ', ''));
    expect(hex(encodeCanonical({ 'a\nb': 1 }))).toBe('7b22610a62223a317d');
  });

  it('encodes non-ASCII as UTF-8: 2-, 3- and 4-byte sequences', () => {
    expect(hex(encodeCanonical('é日😀\u{10FFFF}'))).toBe('22c3a9e697a5f09f9880f48fbfbf22');
  });

  it('sorts astral-plane keys after U+FFFF (code point, not UTF-16 unit, order)', () => {
    // By UTF-16 units "\uD83D\uDE00" < "\uFFFF"; by code point U+1F600 > U+FFFF.
    expect(canonicalString({ '😀': 2, '\uffff': 1 })).toBe('{"\uffff":1,"😀":2}');
    expect(canonicalString({ '😀': 2, '\ue000': 1, '\ud7ff': 0 })).toBe(
      '{"\ud7ff":0,"\ue000":1,"😀":2}',
    );
    // The difference can hide after a common prefix, and in large objects.
    const big: Record<string, number> = {};
    for (let i = 0; i < 40; i++) big[`k${i}`] = i;
    big['p😀'] = -1;
    big['p\uffff'] = -2;
    const order = Object.keys(JSON.parse(canonicalString(big)) as object);
    expect(order.indexOf('p\uffff')).toBe(order.indexOf('p😀') - 1);
  });

  it('sorts integer-like keys as strings, not numbers', () => {
    // JavaScript enumerates integer-like keys first and numerically; canonical JSON does not.
    expect(canonicalString({ a: 3, 10: 1, 9: 2, '': 4 })).toBe('{"":4,"10":1,"9":2,"a":3}');
  });

  it('sorts by the raw key, before escaping', () => {
    // '"' (0x22) sorts before '#' (0x23) even though its escaped form starts with '\' (0x5c).
    expect(canonicalString({ '#': 1, '"': 2 })).toBe('{"\\"":2,"#":1}');
  });

  it('writes safe integers exactly, including the extremes', () => {
    expect(canonicalString([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 10, 1e15])).toBe(
      '[9007199254740991,-9007199254740991,10,1000000000000000]',
    );
    for (let n = 1; n < Number.MAX_SAFE_INTEGER; n = n * 7 + 3) {
      expect(canonicalString([n, -n])).toBe(`[${n},-${n}]`);
    }
  });

  it('accepts null-prototype objects and shared (non-cyclic) references', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = 2;
    const shared = { x: 1 };
    expect(canonicalString({ bare, s: [shared, shared] })).toBe(
      '{"bare":{"a":2,"b":1},"s":[{"x":1},{"x":1}]}',
    );
  });

  it('writes outputs spanning many chunks, and strings longer than a chunk, exactly', () => {
    const list = Array.from({ length: 300_000 }, (_, i) => i * 7919);
    const long = 'é'.repeat(600_000) + '"\\😀';
    const value = { list, long, more: Array.from({ length: 50_000 }, (_, i) => `s${i}`) };
    const bytes = encodeCanonical(value);
    // No escapes but quote and backslash, and keys already in order: JSON.stringify agrees.
    const expected = new TextEncoder().encode(JSON.stringify({ list, long, more: value.more }));
    // Buffer.equals, not toEqual: deep equality walks 3 MB element by element (seconds).
    expect(Buffer.from(bytes).equals(expected)).toBe(true);
    expect(bytes.byteLength).toBeGreaterThan(3 * 1024 * 1024);
  });

  it('gives canonicalString the UTF-8 decoding of encodeCanonical', () => {
    const value = { '😀': ['\u2028', 'é'], a: 1 };
    expect(canonicalString(value)).toBe(new TextDecoder().decode(encodeCanonical(value)));
  });
});

describe('encodeCanonical: refusals', () => {
  it.each([
    ['a float', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['-0', -0],
    ['2^53', 2 ** 53],
    ['-(2^53)', -(2 ** 53)],
    ['1e21', 1e21],
  ])('refuses %s', (_name, value) => {
    refusal(() => encodeCanonical({ signed: { version: value } }));
  });

  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a bigint', 10n],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    ['a Set', new Set()],
    ['a Uint8Array', new Uint8Array(1)],
    ['a boxed string', Object('s')],
    ['a class instance', new (class Role {})()],
    ['a RegExp', /x/],
  ])('refuses %s', (_name, value) => {
    refusal(() => encodeCanonical([value]));
    refusal(() => encodeCanonical({ a: value }));
  });

  it('refuses sparse array holes', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point of the test
    refusal(() => encodeCanonical([1, , 3]));
  });

  it.each([
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', '\udc00'],
    ['a high surrogate at the end', 'abc\ud83d'],
    ['reversed halves', '\ude00\ud83d'],
    ['a high surrogate followed by a plain char', '\ud83dx'],
  ])('refuses %s in values and in keys', (_name, s) => {
    refusal(() => encodeCanonical(s));
    refusal(() => encodeCanonical({ [s]: 1 }));
    refusal(() => encodeCanonical({ [s]: 1, b: 2, '😀': 3 }));
  });

  it('reports the path of the offending value', () => {
    const e = refusal(() => encodeCanonical({ signed: { targets: { a: { length: 1.5 } } } }));
    expect(e.path).toBe('signed.targets.a.length');
    expect(e.message).toContain('signed.targets.a.length');
    const e2 = refusal(() =>
      encodeCanonical({ signed: { targets: { 'file/ä.txt': { hashes: [1, undefined] } } } }),
    );
    expect(e2.path).toBe('signed.targets["file/ä.txt"].hashes[1]');
    expect(refusal(() => encodeCanonical(-0)).path).toBe('');
  });

  it('refuses cycles with a clear error', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    const e = refusal(() => encodeCanonical({ root: a }));
    expect(e.message).toContain('cycle');
    expect(e.path).toBe('root.self');
    const list: unknown[] = [];
    list.push({ list });
    expect(refusal(() => encodeCanonical(list)).message).toContain('cycle');
  });

  it('encodes nesting up to maxDepth and refuses deeper, without a stack overflow', () => {
    const nest = (depth: number): unknown => {
      let value: unknown = 0;
      for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
      return value;
    };
    expect(() => encodeCanonical(nest(DEFAULT_MAX_DEPTH))).not.toThrow();
    const e = refusal(() => encodeCanonical(nest(DEFAULT_MAX_DEPTH + 1)));
    expect(e.message).toContain('maxDepth 512');
    expect(refusal(() => encodeCanonical(nest(10_000))).message).toContain('maxDepth');
    // A caller may raise the cap; the walk is iterative so even 100,000 levels are fine.
    const deep = encodeCanonical(nest(100_000), { maxDepth: 100_000 });
    expect(deep.byteLength).toBeGreaterThan(100_000);
    expect(() => encodeCanonical(nest(3), { maxDepth: 2 })).toThrow(CanonicalJsonError);
  });

  it('rejects a nonsensical maxDepth option', () => {
    expect(() => encodeCanonical({}, { maxDepth: -1 })).toThrow(RangeError);
    expect(() => encodeCanonical({}, { maxDepth: 1.5 })).toThrow(RangeError);
  });
});

describe('encodeCanonical: depth counts empty containers', () => {
  it('refuses an empty array or object one level too deep', () => {
    let array: unknown = [];
    let object: unknown = {};
    for (let i = 1; i < 512; i++) {
      array = [array];
      object = { k: object };
    }
    expect(() => encodeCanonical(array)).not.toThrow();
    expect(() => encodeCanonical(object)).not.toThrow();
    expect(() => encodeCanonical([array])).toThrow(CanonicalJsonError);
    expect(() => encodeCanonical({ k: object })).toThrow(CanonicalJsonError);
    expect(() => encodeCanonical([], { maxDepth: 0 })).toThrow(CanonicalJsonError);
  });
});
