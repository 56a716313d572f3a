/** writeImage / verifySlotImage on plain files: verification, skipping, resume, caps. */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenImage, verifySlotImage, writeImage } from '../../src/device/install.js';
import { MemorySource, makeImage, sha256, targetOf } from './agent-helpers.js';

const BS = 64 * 1024;
const IMG = makeImage(5 * BS + 1234, 3);
let dir: string;
let slot: string;
let source: MemorySource;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-install-'));
  slot = path.join(dir, 'slot.img');
  await fs.writeFile(slot, '');
  source = new MemorySource();
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const openOf =
  (info: ReturnType<typeof targetOf>): OpenImage =>
  (offset) =>
    source.openTarget(info, { offset });

describe('writeImage', () => {
  it('writes the verified image, checkpointing whole synced blocks', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    const checkpoints: number[] = [];
    const r = await writeImage({
      info,
      device: slot,
      open: openOf(info),
      blockSize: BS,
      checkpointBytes: 2 * BS,
      onCheckpoint: async (n) => void checkpoints.push(n),
    });
    expect(r).toMatchObject({ bytesWritten: IMG.byteLength, bytesSkipped: 0, resumedFrom: 0 });
    expect(checkpoints).toEqual([2 * BS, 4 * BS]);
    expect(sha256(await fs.readFile(slot))).toBe(sha256(IMG));
    await expect(verifySlotImage(slot, info, { blockSize: BS })).resolves.toBeUndefined();
  });

  it('truncates a longer file slot to exactly the image', async () => {
    await fs.writeFile(slot, Buffer.alloc(IMG.byteLength + 100_000, 1));
    const info = source.add(targetOf('i', IMG), IMG);
    await writeImage({ info, device: slot, open: openOf(info), blockSize: BS });
    expect((await fs.stat(slot)).size).toBe(IMG.byteLength);
  });

  it('skips blocks the slot already holds, and can be told not to', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    const changed = Buffer.from(IMG);
    changed[3 * BS + 5] = (changed[3 * BS + 5] as number) ^ 1;
    await fs.writeFile(slot, changed);
    const r = await writeImage({ info, device: slot, open: openOf(info), blockSize: BS });
    expect(r).toMatchObject({ bytesWritten: BS, bytesSkipped: IMG.byteLength - BS });
    const all = await writeImage({
      info,
      device: slot,
      open: openOf(info),
      blockSize: BS,
      skipIdentical: false,
    });
    expect(all).toMatchObject({ bytesWritten: IMG.byteLength, bytesSkipped: 0 });
  });

  it('resumes from a block boundary: re-hashes the prefix and downloads only the rest', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    await fs.writeFile(slot, IMG.subarray(0, 3 * BS));
    const r = await writeImage({
      info,
      device: slot,
      open: openOf(info),
      blockSize: BS,
      resumeFrom: 3 * BS,
    });
    expect(r).toMatchObject({
      resumedFrom: 3 * BS,
      bytesReceived: IMG.byteLength - 3 * BS,
      restarted: false,
    });
    expect(source.opens.map((o) => o.offset)).toEqual([3 * BS]);
    expect(sha256(await fs.readFile(slot))).toBe(sha256(IMG));
  });

  it('treats a resume point that is not a block boundary as no resume point', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    await fs.writeFile(slot, IMG.subarray(0, 1000));
    const r = await writeImage({
      info,
      device: slot,
      open: openOf(info),
      blockSize: BS,
      resumeFrom: 1000,
    });
    expect(r.resumedFrom).toBe(0);
  });

  it('fails verification when the resumed prefix in the slot is wrong', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    const bad = Buffer.from(IMG.subarray(0, 2 * BS));
    bad[10] = (bad[10] as number) ^ 1;
    await fs.writeFile(slot, bad);
    await expect(
      writeImage({ info, device: slot, open: openOf(info), blockSize: BS, resumeFrom: 2 * BS }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH' });
  });

  it('refuses a short stream and a stream past the trusted length', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    source.tamper = (d) => d.subarray(0, d.byteLength - 1);
    await expect(
      writeImage({ info, device: slot, open: openOf(info), blockSize: BS }),
    ).rejects.toThrow(/expected \d+ bytes/);
    source.tamper = (d) => Buffer.concat([d, Buffer.alloc(3 * BS)]);
    await expect(
      writeImage({ info, device: slot, open: openOf(info), blockSize: BS }),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    expect((await fs.stat(slot)).size).toBeLessThanOrEqual(IMG.byteLength);
  });

  it('with many blocks in flight, reports checkpoints in order, each covering bytes on the slot', async () => {
    const big = makeImage(40 * BS + 77, 9);
    const info = source.add(targetOf('big', big), big);
    const seen: { at: number; onSlot: Buffer }[] = [];
    const r = await writeImage({
      info,
      device: slot,
      open: openOf(info),
      blockSize: BS,
      checkpointBytes: 3 * BS,
      queueDepth: 8,
      onCheckpoint: async (at) => {
        seen.push({ at, onSlot: (await fs.readFile(slot)).subarray(0, at) });
      },
    });
    expect(r.bytesWritten).toBe(big.byteLength);
    expect(seen.map((c) => c.at)).toEqual(Array.from({ length: 13 }, (_, i) => (i + 1) * 3 * BS));
    for (const { at, onSlot } of seen)
      expect(onSlot.equals(big.subarray(0, at)), `${at}`).toBe(true);
    expect(sha256(await fs.readFile(slot))).toBe(sha256(big));
  });

  it('refuses a queue depth outside 1 … 16', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    for (const queueDepth of [0, 17, 1.5]) {
      await expect(
        writeImage({ info, device: slot, open: openOf(info), blockSize: BS, queueDepth }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_INVALID_STATE' });
    }
  });

  it('refuses a missing device and odd block sizes', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    await expect(
      writeImage({ info, device: path.join(dir, 'nope'), open: openOf(info) }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_SLOT_ARGUMENT' });
    await expect(
      writeImage({ info, device: slot, open: openOf(info), blockSize: 1000 }),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });
});

describe('verifySlotImage', () => {
  it('detects a flipped byte on the medium', async () => {
    const info = source.add(targetOf('i', IMG), IMG);
    const bad = Buffer.from(IMG);
    bad[IMG.byteLength - 1] = (bad[IMG.byteLength - 1] as number) ^ 1;
    await fs.writeFile(slot, bad);
    await expect(verifySlotImage(slot, info)).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    await fs.writeFile(slot, IMG.subarray(0, 100));
    await expect(verifySlotImage(slot, info)).rejects.toThrow(/expected \d+ bytes/);
  });
});
