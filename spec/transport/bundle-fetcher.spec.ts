import { mkdir, open, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE_MANIFEST_NAME } from '../../src/bundle/manifest.js';
import { fileHandleSink, TarWriter } from '../../src/bundle/tar.js';
import { BundleFetcher } from '../../src/transport/bundle-fetcher.js';
import { concat, END, rawMember, removeDir, tempDir } from '../bundle/tar-helpers.js';

const enc = new TextEncoder();
const big = new Uint8Array(300_000).map((_, i) => i % 253);
let dir: string;
let file: string;
let fetcher: BundleFetcher;

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of iterable) parts.push(chunk);
  return concat(parts);
}

beforeEach(async () => {
  dir = await tempDir('tufota-bundle-fetcher-');
  file = path.join(dir, 'b.tar');
  const handle = await open(file, 'wx');
  const tar = new TarWriter(fileHandleSink(handle));
  await tar.addFile(BUNDLE_MANIFEST_NAME, enc.encode('{"format":"tufota-bundle"}'));
  await tar.addFile('metadata/1.root.json', enc.encode('root one'));
  await tar.addFile('metadata/timestamp.json', enc.encode('timestamp'));
  await tar.addFile('targets/fw/abc.a b%.img', big);
  await tar.addFile('outside.txt', enc.encode('not served'));
  await tar.finish();
  await handle.close();
  fetcher = await BundleFetcher.create({ path: file });
});
afterEach(async () => {
  await fetcher.close();
  await removeDir(dir);
});

describe('BundleFetcher', () => {
  it('serves members by their repository URLs, percent-decoded like a web server', async () => {
    expect(await fetcher.fetchBytes('metadata/1.root.json', 1000)).toEqual(enc.encode('root one'));
    expect(await fetcher.fetchBytes('targets/fw/abc.a%20b%25.img', big.length)).toEqual(big);
    expect(fetcher.names).toEqual([
      'metadata/1.root.json',
      'metadata/timestamp.json',
      'targets/fw/abc.a b%.img',
    ]);
  });

  it('resumes from an offset inside the member; an offset past the end restarts at 0', async () => {
    const url = 'targets/fw/abc.a%20b%25.img';
    const response = await fetcher.fetchRange(url, big.length, { offset: 123_457 });
    expect(response.offset).toBe(123_457);
    expect(response.declaredLength).toBe(big.length - 123_457);
    expect(await collect(response)).toEqual(big.subarray(123_457));
    const atEnd = await fetcher.fetchRange(url, big.length, { offset: big.length });
    expect(await collect(atEnd)).toEqual(new Uint8Array(0));
    const small = await fetcher.fetchRange('metadata/1.root.json', 100, { offset: 50 });
    expect(small.offset).toBe(0);
    expect(await collect(small)).toEqual(enc.encode('root one'));
  });

  it('serves concurrent fetches from the one handle', async () => {
    const url = 'targets/fw/abc.a%20b%25.img';
    const results = await Promise.all(
      Array.from({ length: 6 }, () => fetcher.fetchBytes(url, big.length)),
    );
    for (const result of results) expect(result).toEqual(big);
  });

  it('caps downloads: a member larger than maxLength is refused before reading', async () => {
    await expect(fetcher.fetchBytes('targets/fw/abc.a%20b%25.img', 1000)).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD_TOO_LARGE',
    });
  });

  const notFound = [
    'metadata/2.root.json',
    BUNDLE_MANIFEST_NAME,
    'outside.txt',
    'metadata/../outside.txt',
    'targets/%2E%2E/outside.txt',
    'metadata%2F1.root.json',
    'metadata//1.root.json',
    './metadata/1.root.json',
    '/metadata/1.root.json',
    'file:///etc/passwd',
    'http://example.com/metadata/1.root.json',
    'metadata/1.root.json?x=1',
    'metadata/1.root.json#x',
    'metadata/%E0%A4%A.json',
    'metadata/1.root.json%00',
    'targets/fw\\abc',
  ];
  for (const url of notFound) {
    it(`answers ${JSON.stringify(url)} with NotFoundError`, async () => {
      await expect(fetcher.fetchBytes(url, 1000)).rejects.toMatchObject({
        code: 'ERR_TUF_NOT_FOUND',
      });
    });
  }

  it('reads the manifest for display only', async () => {
    expect(await fetcher.readManifest()).toEqual({ format: 'tufota-bundle' });
  });

  it('refuses bundles with ../ names or symlink entries when opened', async () => {
    const evil = path.join(dir, 'evil.tar');
    await writeFile(
      evil,
      concat([rawMember({ name: 'metadata/../../etc/x' }, enc.encode('x')), END]),
    );
    await expect(BundleFetcher.create({ path: evil })).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
    });
    await writeFile(evil, concat([rawMember({ name: 'metadata/timestamp.json', type: '2' }), END]));
    await expect(BundleFetcher.create({ path: evil })).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('symbolic link'),
    });
  });

  it('refuses a missing file or a directory with StorageError, and a closed fetcher with InvalidStateError', async () => {
    await expect(BundleFetcher.create({ path: path.join(dir, 'none.tar') })).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
    await mkdir(path.join(dir, 'd'));
    await expect(BundleFetcher.create({ path: path.join(dir, 'd') })).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
    const other = await BundleFetcher.create({ path: file });
    await other.close();
    await other.close(); // idempotent
    await expect(other.fetchBytes('metadata/1.root.json', 100)).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });

  it('stops reading when the consumer breaks out early', async () => {
    let chunks = 0;
    for await (const _ of fetcher.fetchStream('targets/fw/abc.a%20b%25.img', big.length)) {
      chunks++;
      break;
    }
    expect(chunks).toBe(1);
    expect(await fetcher.fetchBytes('metadata/timestamp.json', 100)).toEqual(
      enc.encode('timestamp'),
    );
  });
});
