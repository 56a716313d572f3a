/**
 * FileFetcher on a temporary offline repository: the same caps and "not found" as HTTP, offsets,
 * and refusal of every way out of the root (dot segments, encoded dots, symlinks, absolute URLs).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileFetcher } from '../../src/transport/file-fetcher.js';
import { drain, failure } from './fetch-results.js';

let base: string;
let root: string;
const ROOT_JSON = Buffer.from('{"signed":{"_type":"root","version":2}}');

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'tufota-file-'));
  root = path.join(base, 'repo');
  await mkdir(path.join(root, 'metadata'), { recursive: true });
  await mkdir(path.join(root, 'targets', 'fw'), { recursive: true });
  await writeFile(path.join(root, 'metadata', '2.root.json'), ROOT_JSON);
  await writeFile(path.join(root, 'metadata', 'a b.json'), 'spaced');
  await writeFile(path.join(root, 'targets', 'fw', 'image.bin'), Buffer.alloc(1000, 7));
  await writeFile(path.join(base, 'secret.txt'), 'outside the root');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('FileFetcher', () => {
  it('reads a relative path and the equivalent file: URL', async () => {
    const fetcher = new FileFetcher({ root });
    const relative = await fetcher.fetchBytes('metadata/2.root.json', 1000);
    const absolute = await fetcher.fetchBytes(
      pathToFileURL(path.join(root, 'metadata', '2.root.json')).href,
      1000,
    );
    expect(Buffer.from(relative).equals(ROOT_JSON)).toBe(true);
    expect(Buffer.from(absolute).equals(ROOT_JSON)).toBe(true);
  });

  it('accepts the root as a file: URL and decodes percent-escapes like a web server', async () => {
    const fetcher = new FileFetcher({ root: pathToFileURL(root) });
    const bytes = await fetcher.fetchBytes('metadata/a%20b.json', 100);
    expect(Buffer.from(bytes).toString()).toBe('spaced');
  });

  it.each([
    ['a missing file', 'metadata/3.root.json'],
    ['a missing directory', 'nope/3.root.json'],
    ['a file used as a directory', 'metadata/2.root.json/x'],
    ['a directory', 'metadata'],
  ])('maps %s to NotFoundError', async (_name, url) => {
    const error = await failure(new FileFetcher({ root }).fetchBytes(url, 1000));
    expect(error.code).toBe('ERR_TUF_NOT_FOUND');
    expect(error.url).toBe(url);
  });

  it('refuses a file larger than the cap before reading it', async () => {
    const error = await failure(new FileFetcher({ root }).fetchBytes('targets/fw/image.bin', 999));
    expect(error.code).toBe('ERR_TUF_DOWNLOAD_TOO_LARGE');
  });

  it('accepts a file of exactly the cap', async () => {
    const bytes = await new FileFetcher({ root }).fetchBytes('targets/fw/image.bin', 1000);
    expect(bytes.byteLength).toBe(1000);
  });

  it('refuses a FIFO as not found instead of waiting for a writer', async () => {
    const fifo = path.join(root, 'metadata', 'timestamp.json');
    await promisify(execFile)('mkfifo', [fifo]);
    const error = await failure(
      new FileFetcher({ root }).fetchBytes('metadata/timestamp.json', 10),
    );
    expect(error.code).toBe('ERR_TUF_NOT_FOUND');
  });

  describe('offsets', () => {
    it('resumes from an offset inside the file', async () => {
      const response = await new FileFetcher({ root }).fetchRange('metadata/2.root.json', 1000, {
        offset: 10,
      });
      expect(response.offset).toBe(10);
      expect(response.declaredLength).toBe(ROOT_JSON.length - 10);
      expect((await drain(response)).equals(ROOT_JSON.subarray(10))).toBe(true);
    });

    it('yields nothing at an offset equal to the file size', async () => {
      const response = await new FileFetcher({ root }).fetchRange('metadata/2.root.json', 1000, {
        offset: ROOT_JSON.length,
      });
      expect(response.offset).toBe(ROOT_JSON.length);
      expect((await drain(response)).length).toBe(0);
    });

    it('reports offset 0 when the offset lies beyond the end of the file', async () => {
      const response = await new FileFetcher({ root }).fetchRange('metadata/2.root.json', 1000, {
        offset: 500,
      });
      expect(response.offset).toBe(0);
      expect((await drain(response)).equals(ROOT_JSON)).toBe(true);
    });

    it('stops an early break without reading the rest', async () => {
      const fetcher = new FileFetcher({ root });
      let chunks = 0;
      for await (const _ of fetcher.fetchStream('targets/fw/image.bin', 1000)) {
        chunks++;
        break;
      }
      expect(chunks).toBe(1);
    });
  });

  describe('confinement to the root', () => {
    it.each([
      ['a dot-dot segment', '../secret.txt'],
      ['a nested dot-dot', 'metadata/../../secret.txt'],
      ['percent-encoded dots', 'metadata/%2e%2e/%2e%2e/secret.txt'],
      ['an absolute path', '/etc/hostname'],
    ])('refuses %s as NotFoundError', async (_name, url) => {
      const error = await failure(new FileFetcher({ root }).fetchBytes(url, 1000));
      expect(error.code).toBe('ERR_TUF_NOT_FOUND');
      expect(error.message).toMatch(/outside/);
    });

    it('refuses a file: URL outside the root', async () => {
      const url = pathToFileURL(path.join(base, 'secret.txt')).href;
      const error = await failure(new FileFetcher({ root }).fetchBytes(url, 1000));
      expect(error.code).toBe('ERR_TUF_NOT_FOUND');
      expect(error.message).toMatch(/outside/);
    });

    it('refuses an encoded slash that would hide a separator', async () => {
      const error = await failure(
        new FileFetcher({ root }).fetchBytes('metadata%2F2.root.json', 99),
      );
      expect(error.code).toBe('ERR_TUF_NOT_FOUND');
    });

    it('refuses a symlink that leads out of the root', async () => {
      await symlink(path.join(base, 'secret.txt'), path.join(root, 'metadata', 'timestamp.json'));
      const error = await failure(
        new FileFetcher({ root }).fetchBytes('metadata/timestamp.json', 99),
      );
      expect(error.code).toBe('ERR_TUF_NOT_FOUND');
      expect(error.message).toMatch(/outside/);
    });

    it('refuses a symlinked directory that leads out of the root', async () => {
      await symlink(base, path.join(root, 'escape'));
      const error = await failure(new FileFetcher({ root }).fetchBytes('escape/secret.txt', 99));
      expect(error.message).toMatch(/outside/);
    });

    it('follows a symlink that stays inside the root', async () => {
      await symlink('2.root.json', path.join(root, 'metadata', 'root.json'));
      const bytes = await new FileFetcher({ root }).fetchBytes('metadata/root.json', 1000);
      expect(Buffer.from(bytes).equals(ROOT_JSON)).toBe(true);
    });

    it('works when the root itself is reached through a symlink', async () => {
      const link = path.join(base, 'media-link');
      await symlink(root, link);
      const bytes = await new FileFetcher({ root: link }).fetchBytes('metadata/2.root.json', 1000);
      expect(Buffer.from(bytes).equals(ROOT_JSON)).toBe(true);
    });

    it('refuses other URL schemes', async () => {
      const error = await failure(new FileFetcher({ root }).fetchBytes('http://example.com/x', 9));
      expect(error.code).toBe('ERR_TUF_DOWNLOAD');
    });
  });
});
