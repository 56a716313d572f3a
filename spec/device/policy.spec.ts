/** Device policy: hardware compatibility and anti-rollback floors, as tables. */
import { describe, expect, it } from 'vitest';
import type { Floors } from '../../src/device/journal.js';
import {
  checkCompatibility,
  checkNotDowngrade,
  type PolicyTarget,
  raiseFloors,
} from '../../src/device/policy.js';

function target(over: Partial<PolicyTarget> = {}): PolicyTarget {
  return {
    path: 'fw.img',
    hardwareIds: ['board-1'],
    releaseVersion: '2.0.0',
    releaseCounter: 2,
    ...over,
  };
}

describe('checkCompatibility', () => {
  it('accepts a target listing the device', () => {
    expect(() =>
      checkCompatibility(target({ hardwareIds: ['x', 'board-1'] }), 'board-1'),
    ).not.toThrow();
  });
  it.each([[['board-2']], [[]], [undefined]])('refuses hardwareIds %j', (ids) => {
    expect(() => checkCompatibility(target({ hardwareIds: ids }), 'board-1')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INCOMPATIBLE_TARGET' }),
    );
  });
  it('accepts missing hardwareIds only with the unsafe switch, never a wrong list', () => {
    const policy = { unsafeAllowMissingHardwareIds: true };
    expect(() =>
      checkCompatibility(target({ hardwareIds: undefined }), 'board-1', policy),
    ).not.toThrow();
    expect(() =>
      checkCompatibility(target({ hardwareIds: ['board-2'] }), 'board-1', policy),
    ).toThrow();
  });
});

describe('checkNotDowngrade', () => {
  const cases: Array<[string, Partial<PolicyTarget>, Floors, string | null]> = [
    ['no floors yet', {}, {}, null],
    ['equal release (re-install)', {}, { version: '2.0.0', releaseCounter: 2 }, null],
    [
      'higher release',
      { releaseVersion: '2.1.0', releaseCounter: 3 },
      { version: '2.0.0', releaseCounter: 2 },
      null,
    ],
    ['lower counter', { releaseCounter: 1 }, { releaseCounter: 2 }, 'ERR_TUF_DOWNGRADE'],
    ['lower version', { releaseVersion: '1.9.9' }, { version: '2.0.0' }, 'ERR_TUF_DOWNGRADE'],
    [
      'prerelease below release',
      { releaseVersion: '2.0.0-rc.1' },
      { version: '2.0.0' },
      'ERR_TUF_DOWNGRADE',
    ],
    [
      'higher version, lower counter',
      { releaseVersion: '9.0.0', releaseCounter: 1 },
      { version: '2.0.0', releaseCounter: 2 },
      'ERR_TUF_DOWNGRADE',
    ],
    [
      'missing counter under a floor',
      { releaseCounter: undefined },
      { releaseCounter: 0 },
      'ERR_TUF_DOWNGRADE',
    ],
    [
      'missing version under a floor',
      { releaseVersion: undefined },
      { version: '1.0.0' },
      'ERR_TUF_DOWNGRADE',
    ],
    [
      'a version that is not semver',
      { releaseVersion: 'latest' },
      { version: '1.0.0' },
      'ERR_TUF_POLICY',
    ],
  ];
  for (const [what, over, floors, code] of cases) {
    it(`${what}: ${code ?? 'allowed'}`, () => {
      const run = () => checkNotDowngrade(target(over), floors);
      if (code === null) expect(run).not.toThrow();
      else expect(run).toThrow(expect.objectContaining({ code }));
    });
  }
  it('lets unsafeAllowDowngrade through', () => {
    expect(() =>
      checkNotDowngrade(
        target({ releaseCounter: 0 }),
        { releaseCounter: 9 },
        { unsafeAllowDowngrade: true },
      ),
    ).not.toThrow();
  });
});

describe('raiseFloors', () => {
  const base = { path: 'fw.img', length: 1, hashes: { sha256: '00' } };
  it('raises each floor to the committed target, never lowers it', () => {
    expect(raiseFloors({}, { ...base, version: '1.0.0', releaseCounter: 1 })).toEqual({
      version: '1.0.0',
      releaseCounter: 1,
    });
    expect(
      raiseFloors(
        { version: '3.0.0', releaseCounter: 5 },
        { ...base, version: '2.0.0', releaseCounter: 9 },
      ),
    ).toEqual({
      version: '3.0.0',
      releaseCounter: 9,
    });
    expect(raiseFloors({ version: '1.0.0' }, { ...base, version: 'not-semver' })).toEqual({
      version: '1.0.0',
    });
  });
});
