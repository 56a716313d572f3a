import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFile, readFileChunks } from '../../src/storage/file-chunks.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-chunks-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  // Copy each chunk: it is only valid until the next one is requested.
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

describe('readFileChunks', () => {
  for (const size of [0, 1, 4095, 4096, 4097, 3 * 4096, 10_000]) {
    it(`returns exactly the bytes of a ${size}-byte file across chunk boundaries`, async () => {
      const data = randomBytes(size);
      const file = path.join(dir, 'f');
      await fs.writeFile(file, data);
      expect((await collect(readFileChunks(file, { chunkSize: 4096 }))).equals(data)).toBe(true);
    });
  }

  it('honours start and maxLength', async () => {
    const data = randomBytes(10_000);
    const file = path.join(dir, 'f');
    await fs.writeFile(file, data);
    const part = await collect(
      readFileChunks(file, { chunkSize: 1000, start: 1234, maxLength: 5000 }),
    );
    expect(part.equals(data.subarray(1234, 6234))).toBe(true);
  });

  it('closes the file on an early break, so the directory can be removed and reused', async () => {
    const file = path.join(dir, 'f');
    await fs.writeFile(file, randomBytes(50_000));
    for await (const _ of readFileChunks(file, { chunkSize: 1000 })) break;
    const fds = await fs.readdir('/proc/self/fd');
    const targets = await Promise.all(
      fds.map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')),
    );
    expect(targets).not.toContain(file);
  });

  it('refuses a nonsensical chunk size', async () => {
    await expect(collect(readFileChunks(path.join(dir, 'x'), { chunkSize: 0 }))).rejects.toThrow(
      RangeError,
    );
  });

  it('fails for a missing file with the errno error', async () => {
    await expect(collect(readFileChunks(path.join(dir, 'missing')))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});

describe('hashFile', () => {
  it('gives the length and the hashes node:crypto computes over the whole file', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dir, 'f');
    await fs.writeFile(file, data);
    let seen = 0;
    const result = await hashFile(file, ['sha256', 'sha512'], {
      onChunk: (c) => (seen += c.byteLength),
    });
    expect(result.length).toBe(data.length);
    expect(seen).toBe(data.length);
    expect(result.hashes.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(result.hashes.sha512).toBe(createHash('sha512').update(data).digest('hex'));
  });
});
