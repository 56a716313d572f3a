/**
 * Strict parsing of metadata: every field's type is checked, and each malformed document gets a
 * typed error with a stable code, never a crash, a hang or a silent acceptance.
 */
import { describe, expect, it } from 'vitest';
import { Metadata, parseExpires, type Targets } from '../../src/models/index.js';

const enc = new TextEncoder();

function targetsDoc(
  overrides: Record<string, unknown> = {},
  envelope: Record<string, unknown> = {},
): unknown {
  return {
    signatures: [],
    signed: {
      _type: 'targets',
      spec_version: '1.0.31',
      version: 1,
      expires: '2030-01-01T00:00:00Z',
      targets: {},
      ...overrides,
    },
    ...envelope,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded ${(e as Error).name}`;
  }
  return undefined;
}

function parse(doc: unknown): Metadata {
  return Metadata.fromBytes(enc.encode(JSON.stringify(doc)));
}

const file = { length: 3, hashes: { sha256: 'ab'.repeat(32) } };

describe('Metadata.fromBytes refuses malformed documents', () => {
  const cases: [string, unknown, string][] = [
    ['a negative version', targetsDoc({ version: -1 }), 'ERR_TUF_FORMAT'],
    ['version 0', targetsDoc({ version: 0 }), 'ERR_TUF_FORMAT'],
    ['a string version', targetsDoc({ version: '1' }), 'ERR_TUF_FORMAT'],
    [
      'an expires with fractions',
      targetsDoc({ expires: '2030-01-01T00:00:00.5Z' }),
      'ERR_TUF_FORMAT',
    ],
    [
      'an expires with an offset',
      targetsDoc({ expires: '2030-01-01T00:00:00+01:00' }),
      'ERR_TUF_FORMAT',
    ],
    ['February 30th', targetsDoc({ expires: '2030-02-30T00:00:00Z' }), 'ERR_TUF_FORMAT'],
    ['an unknown _type', targetsDoc({ _type: 'mirrors' }), 'ERR_TUF_FORMAT'],
    ['spec_version 2.0.0', targetsDoc({ spec_version: '2.0.0' }), 'ERR_TUF_FORMAT'],
    ['spec_version "1"', targetsDoc({ spec_version: '1' }), 'ERR_TUF_FORMAT'],
    [
      'a negative target length',
      targetsDoc({ targets: { a: { ...file, length: -3 } } }),
      'ERR_TUF_FORMAT',
    ],
    [
      'a target without hashes',
      targetsDoc({ targets: { a: { length: 3, hashes: {} } } }),
      'ERR_TUF_FORMAT',
    ],
    [
      'a non-hex hash',
      targetsDoc({ targets: { a: { length: 3, hashes: { sha256: 'zz' } } } }),
      'ERR_TUF_FORMAT',
    ],
    [
      'custom that is not an object',
      targetsDoc({ targets: { a: { ...file, custom: 3 } } }),
      'ERR_TUF_FORMAT',
    ],
    [
      'duplicate signature key ids',
      targetsDoc(
        {},
        {
          signatures: [
            { keyid: 'a', sig: '00' },
            { keyid: 'a', sig: '01' },
          ],
        },
      ),
      'ERR_TUF_FORMAT',
    ],
    ['signatures that is not an array', targetsDoc({}, { signatures: {} }), 'ERR_TUF_FORMAT'],
    ['a missing signed', { signatures: [] }, 'ERR_TUF_FORMAT'],
    ['a JSON array', [], 'ERR_TUF_FORMAT'],
    [
      'a delegated role with both paths and hash prefixes',
      targetsDoc({
        delegations: {
          keys: {},
          roles: [
            {
              name: 'r',
              keyids: [],
              threshold: 1,
              terminating: false,
              paths: ['*'],
              path_hash_prefixes: ['ab'],
            },
          ],
        },
      }),
      'ERR_TUF_FORMAT',
    ],
    [
      'a delegated role named like a top-level role',
      targetsDoc({
        delegations: {
          keys: {},
          roles: [{ name: 'root', keyids: [], threshold: 1, terminating: false, paths: ['*'] }],
        },
      }),
      'ERR_TUF_FORMAT',
    ],
    [
      'two delegated roles with one name',
      targetsDoc({
        delegations: {
          keys: {},
          roles: [
            { name: 'r', keyids: [], threshold: 1, terminating: false, paths: ['a'] },
            { name: 'r', keyids: [], threshold: 1, terminating: false, paths: ['b'] },
          ],
        },
      }),
      'ERR_TUF_FORMAT',
    ],
    [
      'a threshold of 0',
      targetsDoc({
        delegations: {
          keys: {},
          roles: [{ name: 'r', keyids: [], threshold: 0, terminating: false, paths: ['*'] }],
        },
      }),
      'ERR_TUF_FORMAT',
    ],
    [
      'a key id listed twice in a role',
      targetsDoc({
        delegations: {
          keys: {},
          roles: [
            { name: 'r', keyids: ['k', 'k'], threshold: 1, terminating: false, paths: ['*'] },
          ],
        },
      }),
      'ERR_TUF_FORMAT',
    ],
    [
      'both roles and succinct_roles',
      targetsDoc({
        delegations: {
          keys: {},
          roles: [],
          succinct_roles: { keyids: [], threshold: 1, bit_length: 4, name_prefix: 'bin' },
        },
      }),
      'ERR_TUF_FORMAT',
    ],
    [
      'a succinct bit_length of 33',
      targetsDoc({
        delegations: {
          keys: {},
          succinct_roles: { keyids: [], threshold: 1, bit_length: 33, name_prefix: 'bin' },
        },
      }),
      'ERR_TUF_FORMAT',
    ],
  ];
  for (const [what, doc, code] of cases) {
    it(`refuses ${what} (${code})`, () => {
      expect(codeOf(() => parse(doc))).toBe(code);
    });
  }

  it('refuses a root that does not list exactly the four top-level roles', () => {
    const role = { keyids: [], threshold: 1 };
    const doc = {
      signatures: [],
      signed: {
        _type: 'root',
        spec_version: '1.0.31',
        version: 1,
        expires: '2030-01-01T00:00:00Z',
        keys: {},
        roles: { root: role, targets: role, snapshot: role },
        consistent_snapshot: true,
      },
    };
    expect(codeOf(() => parse(doc))).toBe('ERR_TUF_FORMAT');
  });

  it('refuses the wrong _type when one is expected', () => {
    expect(codeOf(() => Metadata.fromBytes(enc.encode(JSON.stringify(targetsDoc())), 'root'))).toBe(
      'ERR_TUF_FORMAT',
    );
  });

  it('names the bad field in the error', () => {
    try {
      parse(targetsDoc({ targets: { a: { ...file, length: 'three' } } }));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('signed.targets.a.length');
      expect((e as { path?: string }).path).toBe('signed.targets.a.length');
    }
  });
});

describe('hostile bytes get typed errors, never crashes or hangs', () => {
  const valid = JSON.stringify(targetsDoc({ targets: { a: file } }));
  const hostile: [string, Uint8Array][] = [
    ['truncated JSON', enc.encode(valid.slice(0, valid.length / 2))],
    ['10,000 nested arrays', enc.encode('['.repeat(10_000) + ']'.repeat(10_000))],
    ['10,000 nested objects', enc.encode('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000))],
    [
      'a huge number',
      enc.encode(valid.replace('"length":3', '"length":123456789012345678901234567890')),
    ],
    ['an exponent', enc.encode(valid.replace('"length":3', '"length":3e2'))],
    ['a float', enc.encode(valid.replace('"length":3', '"length":3.0'))],
    ['non-UTF-8 bytes', Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['an empty input', new Uint8Array()],
    ['a lone surrogate escape', enc.encode(valid.replace('"a"', '"\\ud800"'))],
    ['a duplicate key', enc.encode(valid.replace('"version":1', '"version":1,"version":2'))],
  ];
  for (const [what, bytes] of hostile) {
    it(`${what}`, () => {
      const code = codeOf(() => Metadata.fromBytes(bytes));
      expect(code).toMatch(/^ERR_TUF_(FORMAT|CANONICAL_JSON)$/);
    });
  }

  it('prototype keys stay data: a target named "__proto__" or "constructor"', () => {
    const doc = targetsDoc({ targets: { __proto__x: file } });
    const text = JSON.stringify(doc).replace('__proto__x', '__proto__');
    const md = Metadata.fromBytes(enc.encode(text)) as Metadata<Targets>;
    expect(md.signed.getTarget('__proto__')?.length).toBe(3);
    expect(md.signed.getTarget('constructor')).toBeUndefined();
    expect(Object.getPrototypeOf(md.signed.targets)).toBe(Object.prototype);
  });
});

describe('odd target paths: kept verbatim, refused only when used (issue 9)', () => {
  // python-tuf, tuf-js and tough accept such metadata; refusing it at parse time made one odd
  // name block every other target of the role.
  const odd = ['../etc/passwd', 'a/../../b', '/etc/passwd', 'a\\..\\b', 'a\u0000b', '', 'C:x'];
  it('parses a targets role listing them beside a good target and round-trips it', () => {
    const doc = targetsDoc({
      targets: { good: file, ...Object.fromEntries(odd.map((p) => [p, file])) },
    });
    const md = parse(doc) as Metadata<Targets>;
    expect(Object.keys(md.signed.targets).sort()).toEqual(['good', ...odd].sort());
    expect(JSON.parse(new TextDecoder().decode(md.toBytes()))).toEqual(doc);
    expect(md.signed.getTarget('good')?.checkPath().path).toBe('good');
  });

  for (const path of odd) {
    it(`TargetFile.checkPath refuses ${JSON.stringify(path)} (ERR_TUF_UNSAFE_PATH)`, () => {
      const md = parse(targetsDoc({ targets: { [path]: file } })) as Metadata<Targets>;
      const target = md.signed.getTarget(path);
      expect(target?.unsafePathReason).toBeTypeOf('string');
      expect(codeOf(() => target?.checkPath())).toBe('ERR_TUF_UNSAFE_PATH');
    });
  }
});

describe('parseExpires', () => {
  it('reads the spec format as UTC', () => {
    expect(parseExpires('2030-01-31T23:59:59Z').toISOString()).toBe('2030-01-31T23:59:59.000Z');
  });
  it('refuses 24:00:00', () => {
    expect(codeOf(() => parseExpires('2030-01-31T24:00:00Z'))).toBe('ERR_TUF_FORMAT');
  });
});
