/**
 * Delegation matching, judged by the reference: the path-pattern table was produced by Python's
 * `fnmatch.fnmatchcase` applied per `/`-segment as python-tuf does, and the hash-bin table by
 * `hashlib.sha256` with TAP 15's bit arithmetic (see the generator comment below).
 */
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/models/delegated-role.js';
import {
  DelegatedRole,
  Delegations,
  isTargetInPathPattern,
  SuccinctRoles,
} from '../../src/models/index.js';

// python3: all(fnmatch.fnmatchcase(a, b) for a, b in zip(t.split('/'), p.split('/'))) with equal segment counts
const PATTERN_TABLE: [string, string, boolean][] = [
  ['targets/foo.tgz', 'targets/*.tgz', true],
  ['targets/foo.tgz', '*', false],
  ['targets/sub/foo.tgz', 'targets/*.tgz', false],
  ['foo-version-alpha.tgz', 'foo-version-?.tgz', false],
  ['foo-version-a.tgz', 'foo-version-?.tgz', true],
  ['a/b/c', 'a/*/c', true],
  ['a/b/x/c', 'a/*/c', false],
  ['file1.txt', 'file[0-9].txt', true],
  ['filea.txt', 'file[!0-9].txt', true],
  ['file1.txt', 'file[!0-9].txt', false],
  ['x]', '[]]', false],
  [']', '[]]', true],
  ['a[b', 'a[b', true],
  ['a.b', 'a?b', true],
  ['A.TXT', '*.txt', false],
  ['a(b)c', 'a(b)c', true],
  ['a+b', 'a+b', true],
  ['abc', 'a*b*c', true],
  ['ac', 'a*b*c', false],
  ['abcbc', 'a*b*c', true],
  ['', '*', true],
  ['foo/', 'foo/*', true],
  ['a-c', 'a[a-c]c', false],
  ['abc', 'a[a-c]c', true],
  ['ö.img', '?.img', true],
  ['😀.img', '?.img', true],
  ['a{b}', 'a{b}', true],
  ['a|b', 'a|b', true],
  ['a^b', 'a^b', true],
  ['a$b', 'a$b', true],
  ['x-y', 'x[-]y', true],
  ['x\\y', 'x\\y', true],
];

// python3: idx = int.from_bytes(sha256(t.encode()).digest()[:4], 'big') >> (32 - bl)
const BIN_TABLE: [string, number, string][] = [
  ['a', 1, 'bins-1'],
  ['a', 4, 'bins-c'],
  ['a', 8, 'bins-ca'],
  ['a', 10, 'bins-32a'],
  ['a', 32, 'bins-ca978112'],
  ['file1.txt', 1, 'bins-0'],
  ['file1.txt', 10, 'bins-156'],
  ['firmware/board-1/image.bin', 8, 'bins-5e'],
  ['firmware/board-1/image.bin', 10, 'bins-17a'],
  ['ö', 4, 'bins-6'],
  ['ö', 32, 'bins-6dbd11fd'],
];

describe('path patterns match as python-tuf matches them', () => {
  for (const [target, pattern, expected] of PATTERN_TABLE) {
    it(`${JSON.stringify(target)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(pattern)}`, () => {
      expect(isTargetInPathPattern(target, pattern)).toBe(expected);
    });
  }
});

describe('DelegatedRole', () => {
  it('matches path hash prefixes of sha256(target path)', () => {
    const digest = sha256Hex('file1.txt');
    const role = new DelegatedRole({
      name: 'r',
      keyids: [],
      threshold: 1,
      pathHashPrefixes: [digest.slice(0, 2)],
    });
    expect(role.isDelegatedPath('file1.txt')).toBe(true);
    const other = new DelegatedRole({
      name: 'r',
      keyids: [],
      threshold: 1,
      pathHashPrefixes: [digest[0] === '0' ? '1' : '0'],
    });
    expect(other.isDelegatedPath('file1.txt')).toBe(false);
  });

  it('yields matching roles in delegation order with their terminating flag', () => {
    const d = new Delegations({
      roles: [
        new DelegatedRole({ name: 'a', keyids: [], threshold: 1, paths: ['fw/*'] }),
        new DelegatedRole({ name: 'b', keyids: [], threshold: 1, paths: ['other/*'] }),
        new DelegatedRole({
          name: 'c',
          keyids: [],
          threshold: 1,
          paths: ['fw/*.img'],
          terminating: true,
        }),
      ],
    });
    expect([...d.getRolesForTarget('fw/x.img')]).toEqual([
      { name: 'a', terminating: false },
      { name: 'c', terminating: true },
    ]);
  });
});

describe('SuccinctRoles (TAP 15) put targets in the bins the reference computes', () => {
  for (const [target, bitLength, bin] of BIN_TABLE) {
    it(`${JSON.stringify(target)} with bit_length ${bitLength} → ${bin}`, () => {
      const roles = new SuccinctRoles({ keyids: [], threshold: 1, bitLength, namePrefix: 'bins' });
      expect(roles.getRoleForTarget(target)).toBe(bin);
      expect(roles.isDelegatedRole(bin)).toBe(true);
    });
  }

  it('recognizes exactly its own bin names', () => {
    const roles = new SuccinctRoles({
      keyids: [],
      threshold: 1,
      bitLength: 10,
      namePrefix: 'bins',
    });
    expect([...roles.getRoles()]).toHaveLength(1024);
    expect(roles.isDelegatedRole('bins-3ff')).toBe(true);
    expect(roles.isDelegatedRole('bins-400')).toBe(false);
    expect(roles.isDelegatedRole('bins-3FF')).toBe(false);
    expect(roles.isDelegatedRole('bins-03ff')).toBe(false);
    expect(roles.isDelegatedRole('other-001')).toBe(false);
  });
});
