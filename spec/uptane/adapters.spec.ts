/**
 * The Uptane adapters and stateful helpers: `TrustedClock` with its file floor, the file
 * inventory, the update-bundle framing of the HTTP transport.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeBundle,
  encodeBundle,
  FileClockFloorStore,
  FileInventoryStore,
  MemoryClockFloorStore,
  TrustedClock,
} from '../../src/uptane/index.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-uptane-adapters-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('TrustedClock', () => {
  it('raises a persisted floor and refuses a clock set back behind it, across restarts', async () => {
    const file = path.join(dir, 'floor');
    let now = new Date('2027-03-01T00:00:00Z');
    const clock = () =>
      new TrustedClock({ store: new FileClockFloorStore(file), systemTime: () => now });
    expect((await clock().now()).toISOString()).toBe('2027-03-01T00:00:00.000Z');
    now = new Date('2027-03-02T00:00:00Z');
    await clock().now();
    expect((await new FileClockFloorStore(file).read())?.toISOString()).toBe(
      '2027-03-02T00:00:00.000Z',
    );
    // A fresh process whose clock went back a day.
    now = new Date('2027-03-01T00:00:00Z');
    await expect(clock().now()).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_CLOCK_BEHIND_FLOOR',
      attack: 'clock-behind-floor',
    });
    // The floor did not move down.
    expect((await new FileClockFloorStore(file).read())?.toISOString()).toBe(
      '2027-03-02T00:00:00.000Z',
    );
  });

  it('advanceTo never lowers the floor', async () => {
    const store = new MemoryClockFloorStore(new Date('2027-01-02T00:00:00Z'));
    const clock = new TrustedClock({ store, systemTime: () => new Date('2027-01-03T00:00:00Z') });
    await clock.advanceTo(new Date('2027-01-01T00:00:00Z'));
    expect(store.floor?.toISOString()).toBe('2027-01-02T00:00:00.000Z');
    await clock.advanceTo(new Date('2027-01-05T00:00:00Z'));
    await expect(clock.now()).rejects.toMatchObject({ attack: 'clock-behind-floor' });
  });

  it('a corrupt floor file is a StorageError, never "no floor"', async () => {
    const file = path.join(dir, 'floor');
    await fs.writeFile(file, 'yesterday');
    const clock = new TrustedClock({ store: new FileClockFloorStore(file) });
    await expect(clock.now()).rejects.toMatchObject({ code: 'ERR_TUF_STORAGE' });
  });
});

describe('FileInventoryStore', () => {
  it('keeps roots in order and device records under encoded names', async () => {
    const store = new FileInventoryStore(dir);
    await store.saveRoot(1, new Uint8Array([1]));
    await store.saveRoot(2, new Uint8Array([2]));
    expect((await store.loadRoots()).map((r) => r[0])).toEqual([1, 2]);
    const record = { deviceId: '../vin/1', primaryEcuSerial: 'p', ecus: [] };
    await store.saveDevice(record);
    expect(await store.loadDevice('../vin/1')).toEqual(record);
    expect(await store.listDevices()).toEqual(['../vin/1']);
    expect(await fs.readdir(dir)).toEqual(expect.arrayContaining(['devices', 'roots']));
    expect(await store.loadDevice('other')).toBeUndefined();
  });
});

describe('update bundle framing', () => {
  it('round-trips files and image bytes', () => {
    const bundle = {
      director: { 'targets.json': new Uint8Array([1, 2, 3]) },
      image: { '1.root.json': new Uint8Array([4]) },
      imageBytes: new Uint8Array([9, 9]),
    };
    expect(decodeBundle(encodeBundle(bundle))).toEqual(bundle);
  });
  it.each([
    ['too short', new Uint8Array([0, 0])],
    ['a header longer than the body', new Uint8Array([0, 0, 0, 200, 123])],
    ['a header that is not JSON', new Uint8Array([0, 0, 0, 1, 0x7b])],
  ])('refuses %s', (_name, body) => {
    expect(() => decodeBundle(body)).toThrow(expect.objectContaining({ code: 'ERR_TUF_FORMAT' }));
  });
});
