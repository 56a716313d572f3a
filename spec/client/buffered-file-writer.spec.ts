import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BufferedFileWriter } from '../../src/client/buffered-file-writer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tufota-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeChunks(chunks: Uint8Array[], bufferSize: number): Promise<Uint8Array> {
  const file = path.join(dir, 'out.bin');
  const handle = await open(file, 'w');
  try {
    const writer = new BufferedFileWriter(handle, bufferSize);
    for (const chunk of chunks) await writer.write(chunk);
    await writer.flush();
    expect(writer.length).toBe(chunks.reduce((n, c) => n + c.byteLength, 0));
  } finally {
    await handle.close();
  }
  return new Uint8Array(await readFile(file));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

describe('BufferedFileWriter', () => {
  it.each([
    ['chunks smaller than the buffer', [100, 7, 300, 1, 64], 128],
    ['chunks larger than the buffer', [1000, 3000, 17], 256],
    ['chunks exactly the buffer size', [64, 64, 64], 64],
    ['a one-byte buffer', [5, 3], 1],
    ['no chunks', [], 16],
    ['empty chunks', [0, 10, 0], 4],
  ] as const)('writes every byte in order: %s', async (_name, sizes, bufferSize) => {
    const chunks = sizes.map((size) => new Uint8Array(randomBytes(size)));
    expect(await writeChunks(chunks, bufferSize)).toEqual(concat(chunks));
  });

  it('copies each chunk: the caller may reuse a chunk once write() resolved', async () => {
    const file = path.join(dir, 'reuse.bin');
    const handle = await open(file, 'w');
    const expected: Uint8Array[] = [];
    try {
      const writer = new BufferedFileWriter(handle, 8);
      const chunk = new Uint8Array(5);
      for (let i = 0; i < 10; i++) {
        chunk.fill(i);
        expected.push(chunk.slice());
        await writer.write(chunk); // the same memory, refilled each time, as a fetcher may do
      }
      await writer.flush();
    } finally {
      await handle.close();
    }
    expect(new Uint8Array(await readFile(file))).toEqual(concat(expected));
  });

  it('reports a failed write on a later call, and settle() swallows it for cleanup', async () => {
    const handle = await open(path.join(dir, 'ro.bin'), 'w');
    await handle.close(); // every write now fails with EBADF
    const writer = new BufferedFileWriter(handle, 4);
    await writer.write(new Uint8Array(4)); // starts a write that will fail
    await expect(writer.flush()).rejects.toMatchObject({ code: 'EBADF' });
    await writer.write(new Uint8Array(4));
    await expect(writer.settle()).resolves.toBeUndefined();
  });

  it('refuses a buffer size that is not a positive integer', () => {
    expect(() => new BufferedFileWriter({} as never, 0)).toThrow(RangeError);
    expect(() => new BufferedFileWriter({} as never, 1.5)).toThrow(RangeError);
  });
});
