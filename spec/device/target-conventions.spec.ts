/**
 * One validation of the target conventions for the install policy and the journal: a target the
 * policy lets through is always one the journal can read back, and the agent refuses the others
 * before any byte is written (before the fix, a `custom.version` of "" or of 300 characters was
 * installed, then the journal refused its own record on resume: install → reject → reboot loop).
 */
import { promises as fs } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpdateAgent } from '../../src/device/agent.js';
import {
  journalTargetOf,
  newJournal,
  parseJournal,
  serializeJournal,
} from '../../src/device/journal.js';
import { checkCompatibility } from '../../src/device/policy.js';
import { TargetFile } from '../../src/models/index.js';
import { FsJournalStore } from '../../src/storage/fs-journal-store.js';
import {
  type DeviceRig,
  MemorySource,
  makeDeviceRig,
  makeImage,
  sha256,
  TUNING,
  targetOf,
} from './agent-helpers.js';

const HASH = 'ab'.repeat(32);

/** Custom objects on both sides of every limit the journal has. */
const CUSTOMS: Array<[string, Record<string, unknown>]> = [
  ['an empty version', { version: '' }],
  ['a 256-character version', { version: 'v'.repeat(256) }],
  ['a 257-character version', { version: 'v'.repeat(257) }],
  ['a 300-character version', { version: `1.0.0-${'x'.repeat(294)}` }],
  ['a numeric version', { version: 2 }],
  ['a free-form version', { version: 'release 7 (build 12)' }],
  ['releaseCounter 0', { releaseCounter: 0 }],
  ['releaseCounter -1', { releaseCounter: -1 }],
  ['releaseCounter 1.5', { releaseCounter: 1.5 }],
  ['releaseCounter "3"', { releaseCounter: '3' }],
  ['releaseCounter 2^53', { releaseCounter: 2 ** 53 }],
  ['hardwareIds as a string', { hardwareIds: 'board-1' }],
  ['an empty hardware id', { hardwareIds: ['board-1', ''] }],
];

/** Would the journal read back a record of this target? */
function journalAccepts(target: TargetFile): boolean {
  const journal = newJournal({
    updateId: 'u-1',
    target: journalTargetOf(target),
    slot: 'B',
    fromSlot: 'A',
    now: new Date('2030-01-01T00:00:00Z'),
  });
  try {
    parseJournal(new TextEncoder().encode(serializeJournal(journal)), 'journal.json');
    return true;
  } catch {
    return false;
  }
}

describe('install policy and journal share one rule', () => {
  for (const [what, extra] of CUSTOMS) {
    it(`agree on ${what}`, () => {
      const target = new TargetFile(
        'fw.img',
        10,
        { sha256: HASH },
        {
          hardwareIds: ['board-1'],
          ...extra,
        },
      );
      let policyAccepts = true;
      try {
        checkCompatibility(target, 'board-1', { unsafeAllowMissingHardwareIds: true });
      } catch (error) {
        policyAccepts = false;
        expect(error).toMatchObject({ code: 'ERR_TUF_TARGET_CONVENTIONS' });
      }
      // The getters drop malformed values, so a journal can record them only as absent; the
      // policy must refuse anything it cannot record faithfully.
      if (policyAccepts) expect(journalAccepts(target)).toBe(true);
    });
  }

  it('refuses exactly the malformed ones', () => {
    const refused = CUSTOMS.filter(([, extra]) => {
      try {
        checkCompatibility(
          new TargetFile('fw.img', 10, { sha256: HASH }, { hardwareIds: ['board-1'], ...extra }),
          'board-1',
        );
        return false;
      } catch {
        return true;
      }
    }).map(([what]) => what);
    expect(refused).toEqual([
      'an empty version',
      'a 257-character version',
      'a 300-character version',
      'a numeric version',
      'releaseCounter -1',
      'releaseCounter 1.5',
      'releaseCounter "3"',
      'releaseCounter 2^53',
      'hardwareIds as a string',
      'an empty hardware id',
    ]);
  });

  it('refuses hashes the journal cannot record (an upper-case algorithm name, nine algorithms)', () => {
    const nine = Object.fromEntries(
      Array.from({ length: 9 }, (_, i) => [`alg-${i}`, HASH] as const),
    );
    for (const hashes of [{ SHA256: HASH }, nine]) {
      const target = new TargetFile('fw.img', 10, hashes, { hardwareIds: ['board-1'] });
      expect(journalAccepts(target)).toBe(false);
      expect(() => checkCompatibility(target, 'board-1')).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_TARGET_CONVENTIONS' }),
      );
    }
  });
});

describe('UpdateAgent: a target the journal could not record is refused before any write', () => {
  let dev: DeviceRig;
  beforeEach(async () => {
    dev = await makeDeviceRig();
  });
  afterEach(async () => {
    await dev.cleanup();
  });

  const image = makeImage(200_000, 3);
  for (const [what, custom] of [
    ['an empty version', { hardwareIds: ['board-1'], version: '' }],
    ['a 300-character version', { hardwareIds: ['board-1'], version: `1.0.0-${'x'.repeat(294)}` }],
    ['a negative releaseCounter', { hardwareIds: ['board-1'], releaseCounter: -1 }],
  ] as const) {
    it(`on a fresh device (no floors yet): ${what}`, async () => {
      const source = new MemorySource();
      source.add(targetOf('fw.img', image, { ...custom }), image);
      const env = await fs.readFile(dev.envPath, 'utf8');
      const slotB = sha256(await dev.read(dev.rig.slotDevices.B));
      const agent = await UpdateAgent.create({
        slots: dev.slots,
        updater: source,
        hardwareId: 'board-1',
        stateDir: dev.stateDir,
        reboot: async () => {
          await dev.sim.simulateBoot();
        },
        tuning: TUNING,
      });
      await expect(agent.checkAndInstall('fw.img')).rejects.toMatchObject({
        code: 'ERR_TUF_TARGET_CONVENTIONS',
      });
      expect(source.opens).toEqual([]);
      expect(await fs.readFile(dev.envPath, 'utf8')).toBe(env);
      expect(sha256(await dev.read(dev.rig.slotDevices.B))).toBe(slotB);
      const store = await FsJournalStore.create(dev.stateDir);
      expect(await store.readJournal()).toBeUndefined();
      // A second start finds nothing to resume: no loop.
      expect((await agent.resume()).outcome).not.toBe('rebooting');
    });
  }
});
