import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodeRoleName,
  metadataFileName,
  targetFileName,
  targetUrlPath,
} from '../../src/client/role-names.js';

describe('encodeRoleName', () => {
  it.each([
    ['targets', 'targets'],
    ['a-b_c.d~e', 'a-b_c.d~e'],
    ['a/b', 'a%2Fb'],
    ['a\\b', 'a%5Cb'],
    ['ö', '%C3%B6'],
    ['100%', '100%25'],
    ["!'()*", '%21%27%28%29%2A'],
    ['a b?c#d', 'a%20b%3Fc%23d'],
    ['\u0000', '%00'],
  ])('encodes %j as python quote(name, "") does: %j', (name, expected) => {
    expect(encodeRoleName(name)).toBe(expected);
  });

  it('refuses an empty name and a lone surrogate', () => {
    expect(() => encodeRoleName('')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_UNSAFE_PATH' }),
    );
    expect(() => encodeRoleName('\ud800')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_UNSAFE_PATH' }),
    );
  });
});

describe('metadataFileName', () => {
  it('names plain and versioned files', () => {
    expect(metadataFileName('timestamp')).toBe('timestamp.json');
    expect(metadataFileName('root', 3)).toBe('3.root.json');
    expect(metadataFileName('a/b', 2)).toBe('2.a%2Fb.json');
  });

  it.each(['..', '.', '../..', '../../etc/passwd', '/abs', 'a/../../b', '..\\x'])(
    'keeps role %j inside the metadata directory and the base URL',
    (role) => {
      for (const name of [metadataFileName(role), metadataFileName(role, 7)]) {
        expect(name).not.toContain('/');
        expect(name).not.toContain('\\');
        expect(path.dirname(path.resolve('/cache', name))).toBe('/cache');
        expect(new URL(name, 'https://repo.test/metadata/').pathname.startsWith('/metadata/')).toBe(
          true,
        );
        expect(name === '.' || name === '..').toBe(false);
      }
    },
  );

  it('refuses a version that is not a positive integer', () => {
    expect(() => metadataFileName('root', 0)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_UNSAFE_PATH' }),
    );
  });
});

describe('target names', () => {
  it('stores a target under its whole path percent-encoded, so one path is one file', () => {
    expect(targetFileName('fw/board-a/1.2.0.img')).toBe('fw%2Fboard-a%2F1.2.0.img');
  });

  it('builds the URL path, with the consistent-snapshot hash prefix on the basename', () => {
    expect(targetUrlPath('fw/a b.img')).toBe('fw/a%20b.img');
    expect(targetUrlPath('fw/a.img', 'abc123')).toBe('fw/abc123.a.img');
    expect(targetUrlPath('a.img', 'abc123')).toBe('abc123.a.img');
    expect(targetUrlPath('q?x#y')).toBe('q%3Fx%23y');
  });

  it('refuses a hash prefix that is not hex', () => {
    expect(() => targetUrlPath('a', '../x')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_UNSAFE_PATH' }),
    );
  });
});
