/** The journal records (pure) and FsJournalStore: transitions, strict parsing, caps, quarantine. */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  advanceJournal,
  type Journal,
  journalErrorOf,
  MAX_JOURNAL_BYTES,
  newJournal,
  parseInstalled,
  parseJournal,
  sameTarget,
  serializeInstalled,
  serializeJournal,
} from '../../src/device/journal.js';
import { FsJournalStore } from '../../src/storage/fs-journal-store.js';

const T0 = new Date('2024-05-01T10:00:00.000Z');
const T1 = new Date('2024-05-01T10:05:00.000Z');
const TARGET = {
  path: 'fw.img',
  length: 1000,
  hashes: { sha256: 'ab'.repeat(32) },
  version: '1.2.3',
  releaseCounter: 4,
};

function journal(): Journal {
  return newJournal({ updateId: 'u-1', target: TARGET, slot: 'B', fromSlot: 'A', now: T0 });
}
const enc = (s: string) => new TextEncoder().encode(s);

describe('journal records', () => {
  it('round-trips through serialize and parse', () => {
    const j = advanceJournal(journal(), 'writing', T1, { bytesVerified: 512 });
    expect(parseJournal(enc(serializeJournal(j)), 'j')).toEqual(j);
    expect(j).toMatchObject({ startedAt: T0.toISOString(), updatedAt: T1.toISOString() });
  });

  it('allows the documented transitions and refuses others', () => {
    let j = journal();
    for (const phase of ['written', 'activated', 'rebooting', 'verifying', 'committed'] as const) {
      j = advanceJournal(j, phase, T1);
    }
    expect(j.phase).toBe('committed');
    expect(() => advanceJournal(j, 'writing', T1)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_STORAGE' }),
    );
    expect(() => advanceJournal(journal(), 'committed', T1)).toThrow(
      /cannot go from writing to committed/,
    );
    expect(() => advanceJournal(journal(), 'activated', T1)).toThrow();
    // A power cut right after activateTrial: the next boot is already the new slot.
    expect(advanceJournal(advanceJournal(journal(), 'written', T1), 'verifying', T1).phase).toBe(
      'verifying',
    );
  });

  it('caps error messages', () => {
    const e = journalErrorOf(Object.assign(new Error('x'.repeat(10_000)), { code: 'ERR_TUF_X' }));
    expect(e.code).toBe('ERR_TUF_X');
    expect(e.message.length).toBeLessThanOrEqual(2049);
    expect(journalErrorOf('plain').code).toBe('ERR_TUF');
  });

  const good = JSON.parse(serializeJournal(journal()));
  const corruptions: Array<[string, (o: Record<string, unknown>) => void]> = [
    ['a wrong format tag', (o) => void (o.format = 'other')],
    ['an unknown phase', (o) => void (o.phase = 'installing')],
    ['a bad slot', (o) => void (o.slot = 'C')],
    ['slot equal to fromSlot', (o) => void (o.slot = 'A')],
    ['a negative offset', (o) => void (o.bytesVerified = -1)],
    ['an offset past the target', (o) => void (o.bytesVerified = 1001)],
    ['a fractional length', (o) => void ((o.target as Record<string, unknown>).length = 1.5)],
    ['no hashes', (o) => void ((o.target as Record<string, unknown>).hashes = {})],
    [
      'a non-hex hash',
      (o) => void ((o.target as Record<string, unknown>).hashes = { sha256: 'zz' }),
    ],
    ['a bad time', (o) => void (o.updatedAt = 'yesterday')],
    ['a missing rejected flag', (o) => void delete o.rejected],
    ['a bad update id', (o) => void (o.updateId = '../x')],
  ];
  for (const [what, mutate] of corruptions) {
    it(`refuses a journal with ${what}`, () => {
      const o = structuredClone(good);
      mutate(o);
      expect(() => parseJournal(enc(JSON.stringify(o)), 'journal.json')).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_STORAGE' }),
      );
    });
  }

  it('refuses torn, non-UTF-8 and oversized files', () => {
    const text = serializeJournal(journal());
    expect(() => parseJournal(enc(text.slice(0, 40)), 'j')).toThrow(/not valid JSON/);
    expect(() => parseJournal(new Uint8Array([0x7b, 0xff, 0x7d]), 'j')).toThrow(/not valid JSON/);
    expect(() => parseJournal(new Uint8Array(MAX_JOURNAL_BYTES + 1), 'j')).toThrow(/more than/);
  });

  it('round-trips the installed state and refuses a bad floor', () => {
    const state = {
      slot: 'B' as const,
      target: TARGET,
      floors: { version: '1.2.3', releaseCounter: 4 },
      updatedAt: T1.toISOString(),
    };
    expect(parseInstalled(enc(serializeInstalled(state)), 'i')).toEqual(state);
    const bad = JSON.parse(serializeInstalled(state));
    bad.floors.releaseCounter = -3;
    expect(() => parseInstalled(enc(JSON.stringify(bad)), 'i')).toThrow(/releaseCounter/);
  });

  it('round-trips the images recorded per slot and refuses a bad slot key or entry', () => {
    const state = {
      slot: 'A' as const,
      floors: { releaseCounter: 4 },
      slotImages: { A: { ...TARGET, path: 'fw-1.img' }, B: TARGET },
      updatedAt: T1.toISOString(),
    };
    expect(parseInstalled(enc(serializeInstalled(state)), 'i')).toEqual(state);
    const badKey = JSON.parse(serializeInstalled(state));
    badKey.slotImages.C = TARGET;
    expect(() => parseInstalled(enc(JSON.stringify(badKey)), 'i')).toThrow(/not A or B/);
    const badEntry = JSON.parse(serializeInstalled(state));
    badEntry.slotImages.B.hashes = {};
    expect(() => parseInstalled(enc(JSON.stringify(badEntry)), 'i')).toThrow(/slotImages\.B/);
    const notObject = JSON.parse(serializeInstalled(state));
    notObject.slotImages = [TARGET];
    expect(() => parseInstalled(enc(JSON.stringify(notObject)), 'i')).toThrow(/slotImages/);
  });

  it('compares targets by path, length and every hash (case-insensitively)', () => {
    expect(sameTarget(TARGET, { ...TARGET, hashes: { sha256: 'AB'.repeat(32) } })).toBe(true);
    expect(sameTarget(TARGET, { ...TARGET, length: 999 })).toBe(false);
    expect(
      sameTarget(TARGET, { ...TARGET, hashes: { ...TARGET.hashes, sha512: 'cd'.repeat(64) } }),
    ).toBe(false);
  });
});

describe('FsJournalStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-journal-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads nothing on a fresh device, then what was written', async () => {
    const store = await FsJournalStore.create(path.join(dir, 'state'));
    expect(await store.readJournal()).toBeUndefined();
    expect(await store.readInstalled()).toBeUndefined();
    await store.writeJournal(journal());
    expect(await store.readJournal()).toEqual(journal());
    expect((await fs.readdir(store.dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('fails with StorageError on a corrupt or oversized file, and quarantines the journal', async () => {
    const store = await FsJournalStore.create(dir);
    await fs.writeFile(store.journalPath, '{"format":"tufota-journal-v1","phase":');
    await expect(store.readJournal()).rejects.toMatchObject({ code: 'ERR_TUF_STORAGE' });
    expect(await store.quarantineJournal()).toBe(path.join(dir, 'journal.json.corrupt-1'));
    expect(await store.readJournal()).toBeUndefined();
    await fs.writeFile(store.journalPath, 'x');
    expect(await store.quarantineJournal()).toBe(path.join(dir, 'journal.json.corrupt-2'));
    expect(await store.quarantineJournal()).toBeUndefined();
    await fs.writeFile(store.installedPath, Buffer.alloc(MAX_JOURNAL_BYTES + 10, 0x20));
    await expect(store.readInstalled()).rejects.toMatchObject({ code: 'ERR_TUF_STORAGE' });
  });
});
