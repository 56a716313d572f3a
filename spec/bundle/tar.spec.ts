import { execFileSync } from 'node:child_process';
import { link, mkdir, open, readFile, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTarName, fileHandleSink, type TarSink, TarWriter } from '../../src/bundle/tar.js';
import {
  concat,
  END,
  indexBytes,
  indexFile,
  paxMember,
  rawMember,
  removeDir,
  tempDir,
} from './tar-helpers.js';

const enc = new TextEncoder();
let dir: string;

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

/** A sink collecting chunks in memory, recording each write's size. */
function memorySink(): TarSink & { bytes(): Uint8Array; sizes: number[] } {
  const chunks: Uint8Array[] = [];
  const sizes: number[] = [];
  return {
    sizes,
    async write(chunk) {
      chunks.push(chunk.slice());
      sizes.push(chunk.byteLength);
    },
    bytes: () => concat(chunks),
  };
}

async function* chunksOf(total: number, chunk: number, fill = 7): AsyncGenerator<Uint8Array> {
  for (let left = total; left > 0; left -= chunk)
    yield new Uint8Array(Math.min(chunk, left)).fill(fill);
}

async function writeArchive(file: string, build: (tar: TarWriter) => Promise<void>): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    const tar = new TarWriter(fileHandleSink(handle), { mtime: 1_700_000_000 });
    await build(tar);
    await tar.finish();
  } finally {
    await handle.close();
  }
}

async function slice(file: string, offset: number, size: number): Promise<Uint8Array> {
  return new Uint8Array(await readFile(file)).subarray(offset, offset + size);
}

const LONG_NAME = `targets/${'d'.repeat(120)}/${'n'.repeat(90)}.img`; // fits prefix+name
const VERY_LONG_NAME = `targets/${'x'.repeat(300)}.img`; // needs a pax path record
const UNICODE_NAME = 'targets/ünïcödé/fw ✓.img';

describe('TarWriter + readTarIndex round trip', () => {
  it('indexes every member at its data offset, with short, split, pax and unicode names', async () => {
    const file = path.join(dir, 'ours.tar');
    const contents: Array<[string, Uint8Array]> = [
      ['metadata/1.root.json', enc.encode('{"root":1}')],
      ['empty', new Uint8Array(0)],
      ['exact-block', new Uint8Array(512).fill(1)],
      [LONG_NAME, enc.encode('long')],
      [VERY_LONG_NAME, enc.encode('very long')],
      [UNICODE_NAME, enc.encode('unicode')],
    ];
    await writeArchive(file, async (tar) => {
      for (const [name, bytes] of contents) await tar.addFile(name, bytes);
    });
    const index = await indexFile(file);
    expect(index.entries.map((e) => e.name)).toEqual(contents.map(([n]) => n));
    for (const [name, bytes] of contents) {
      const entry = index.byName.get(name);
      expect(entry?.size).toBe(bytes.byteLength);
      expect(entry?.mtime).toBe(1_700_000_000);
      expect(await slice(file, entry?.offset ?? -1, bytes.byteLength)).toEqual(bytes);
    }
  });

  it('streams a member in the source chunks, never buffering it whole', async () => {
    const sink = memorySink();
    const tar = new TarWriter(sink);
    await tar.addFile('big.bin', 1_000_000, chunksOf(1_000_000, 65_536));
    await tar.finish();
    expect(Math.max(...sink.sizes)).toBe(65_536);
    expect(tar.bytesWritten).toBe(512 + 1_000_448 + 1024);
    const index = await indexBytes(dir, sink.bytes());
    expect(index.byName.get('big.bin')?.size).toBe(1_000_000);
  });
});

describe('interoperability with GNU tar', () => {
  it('`tar -tf` lists our archives and `tar -xO` extracts the same bytes', async () => {
    const file = path.join(dir, 'ours.tar');
    const names = ['metadata/timestamp.json', LONG_NAME, VERY_LONG_NAME, UNICODE_NAME];
    await writeArchive(file, async (tar) => {
      for (const name of names) await tar.addFile(name, enc.encode(`content of ${name}`));
    });
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed).toEqual(names);
    for (const name of names) {
      const out = execFileSync('tar', ['-xOf', file, name]);
      expect(out.toString('utf8')).toBe(`content of ${name}`);
    }
  });

  for (const format of ['ustar', 'pax'] as const) {
    it(`reads archives made by \`tar --format=${format}\` (directories skipped, "./" dropped)`, async () => {
      const src = path.join(dir, 'src');
      await mkdir(path.join(src, 'metadata'), { recursive: true });
      await mkdir(path.join(src, 'targets', 'fw'), { recursive: true });
      await writeFile(path.join(src, 'metadata', '1.root.json'), '{"a":1}');
      await writeFile(path.join(src, 'targets', 'fw', 'abc.img'), new Uint8Array(70_000).fill(9));
      const names = ['metadata/1.root.json', 'targets/fw/abc.img'];
      if (format === 'pax') {
        // Only pax can carry a name this long; GNU tar writes a `path` record for it.
        await writeFile(path.join(src, 'targets', 'fw', 'y'.repeat(200)), 'long');
        names.push(`targets/fw/${'y'.repeat(200)}`);
      }
      const file = path.join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, '.']);
      const index = await indexFile(file);
      expect(index.entries.map((e) => e.name).sort()).toEqual(names.sort());
      for (const name of names) {
        const entry = index.byName.get(name);
        const expected = new Uint8Array(await readFile(path.join(src, ...name.split('/'))));
        expect(await slice(file, entry?.offset ?? -1, entry?.size ?? 0)).toEqual(expected);
      }
    });
  }

  it('refuses the GNU (non-POSIX) format with advice', async () => {
    await writeFile(path.join(dir, 'f'), 'x');
    const file = path.join(dir, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '-cf', file, '-C', dir, 'f']);
    await expect(indexFile(file)).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('--format=ustar'),
    });
  });

  it('refuses symbolic and hard links made by GNU tar', async () => {
    await writeFile(path.join(dir, 'real'), 'x');
    await symlink('real', path.join(dir, 'sym'));
    await link(path.join(dir, 'real'), path.join(dir, 'hard'));
    const symTar = path.join(dir, 'sym.tar');
    execFileSync('tar', ['--format=pax', '-cf', symTar, '-C', dir, 'real', 'sym']);
    await expect(indexFile(symTar)).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('symbolic link'),
    });
    const hardTar = path.join(dir, 'hard.tar');
    execFileSync('tar', ['--format=ustar', '-cf', hardTar, '-C', dir, 'real', 'hard']);
    await expect(indexFile(hardTar)).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('hard link'),
    });
  });
});

describe('readTarIndex refuses hostile archives', () => {
  const data = enc.encode('payload');
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a ../ name', concat([rawMember({ name: '../evil' }, data), END]), /\.\./],
    ['a nested ../ name', concat([rawMember({ name: 'targets/../../evil' }, data), END]), /\.\./],
    ['an absolute name', concat([rawMember({ name: '/etc/passwd' }, data), END]), /absolute/],
    ['a backslash name', concat([rawMember({ name: 'a\\..\\b' }, data), END]), /backslash/],
    [
      'a ../ pax path',
      concat([paxMember({ path: 'metadata/../../x' }), rawMember({ name: 'ok' }, data), END]),
      /\.\./,
    ],
    ['a symlink entry', concat([rawMember({ name: 'link', type: '2' }), END]), /symbolic link/],
    ['a hard link entry', concat([rawMember({ name: 'link', type: '1' }), END]), /hard link/],
    [
      'a character device',
      concat([rawMember({ name: 'dev', type: '3' }), END]),
      /character device/,
    ],
    ['a block device', concat([rawMember({ name: 'dev', type: '4' }), END]), /block device/],
    ['a FIFO', concat([rawMember({ name: 'fifo', type: '6' }), END]), /FIFO/],
    [
      'a GNU long name',
      concat([rawMember({ name: '././@LongLink', type: 'L' }, data), END]),
      /GNU long name/,
    ],
    [
      'duplicate names',
      concat([rawMember({ name: 'a' }, data), rawMember({ name: './a' }, data), END]),
      /duplicate/,
    ],
    ['a bad checksum', concat([rawMember({ name: 'a', checksumDelta: 1 }, data), END]), /checksum/],
    ['a size beyond the file', concat([rawMember({ name: 'a', size: 4096 }), END]), /truncated/],
    [
      'a pax size beyond the file',
      concat([paxMember({ size: '999999' }), rawMember({ name: 'a' }, data), END]),
      /truncated/,
    ],
    [
      'a GNU sparse pax member',
      concat([paxMember({ 'GNU.sparse.size': '10' }), rawMember({ name: 'a' }, data), END]),
      /sparse/,
    ],
    [
      'a global pax path',
      concat([paxMember({ path: 'x' }, 'g'), rawMember({ name: 'a' }, data), END]),
      /global/,
    ],
    [
      'an oversized pax header',
      concat([rawMember({ name: 'P', type: 'x' }, new Uint8Array(70_000).fill(0x41)), END]),
      /cap/,
    ],
    [
      'a malformed pax record',
      concat([
        rawMember({ name: 'P', type: 'x' }, enc.encode('99 path=x\n')),
        rawMember({ name: 'a' }, data),
        END,
      ]),
      /pax/,
    ],
    ['no end marker', rawMember({ name: 'a' }, data), /truncated/],
    ['one end block', concat([rawMember({ name: 'a' }, data), new Uint8Array(512)]), /truncated/],
    ['an empty file', new Uint8Array(0), /truncated/],
    [
      'a wrong magic',
      concat([rawMember({ name: 'a', magic: 'nottar\u0000\u0000' }, data), END]),
      /ustar/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what}`, async () => {
      const error = await indexBytes(dir, bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ERR_TUF_FORMAT' });
      expect((error as Error).message).toMatch(message);
    });
  }

  it('refuses more members than maxEntries, counting directories', async () => {
    const bytes = concat([
      rawMember({ name: 'd/', type: '5' }),
      rawMember({ name: 'd/a' }, data),
      rawMember({ name: 'd/b' }, data),
      END,
    ]);
    await expect(indexBytes(dir, bytes, { maxEntries: 2 })).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('more than 2 members'),
    });
    expect((await indexBytes(dir, bytes, { maxEntries: 3 })).entries.map((e) => e.name)).toEqual([
      'd/a',
      'd/b',
    ]);
  });

  it('refuses every truncation of a valid archive', async () => {
    const sink = memorySink();
    const tar = new TarWriter(sink);
    await tar.addFile('metadata/1.root.json', enc.encode('root'));
    await tar.addFile(VERY_LONG_NAME, 700, chunksOf(700, 100));
    await tar.finish();
    const whole = sink.bytes();
    await expect(indexBytes(dir, whole)).resolves.toBeDefined();
    for (let cut = 0; cut < whole.byteLength; cut += 97) {
      await expect(indexBytes(dir, whole.subarray(0, cut)), `cut at ${cut}`).rejects.toMatchObject({
        code: 'ERR_TUF_FORMAT',
      });
    }
  });
});

describe('TarWriter refusals', () => {
  it('refuses unsafe and duplicate names', async () => {
    const tar = new TarWriter(memorySink());
    for (const name of ['../x', '/abs', 'a//b', './a', 'a/./b', 'nul\u0000', 'back\\slash', '']) {
      await expect(tar.addFile(name, data()), name).rejects.toMatchObject({
        code: 'ERR_TUF_FORMAT',
      });
    }
    await tar.addFile('a', data());
    await expect(tar.addFile('a', data())).rejects.toMatchObject({ code: 'ERR_TUF_FORMAT' });
  });

  it('fails when the source yields more or fewer bytes than declared, and is then unusable', async () => {
    const more = new TarWriter(memorySink());
    await expect(more.addFile('a', 10, chunksOf(11, 4))).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('more than the declared 10'),
    });
    await expect(more.finish()).rejects.toMatchObject({ code: 'ERR_TUF_INVALID_STATE' });
    const fewer = new TarWriter(memorySink());
    await expect(fewer.addFile('a', 10, chunksOf(9, 4))).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('yielded 9 bytes'),
    });
    await expect(fewer.addFile('b', data())).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });

  it('refuses more members than maxEntries', async () => {
    const tar = new TarWriter(memorySink(), { maxEntries: 1 });
    await tar.addFile('a', data());
    await expect(tar.addFile('b', data())).rejects.toMatchObject({ code: 'ERR_TUF_FORMAT' });
  });
});

describe('checkTarName', () => {
  it('drops one leading ./ and a directory trailing slash, and keeps names otherwise', () => {
    expect(checkTarName('./metadata/1.root.json')).toBe('metadata/1.root.json');
    expect(checkTarName('targets/', { directory: true })).toBe('targets');
    expect(() => checkTarName('targets/')).toThrow(/empty/);
    expect(() => checkTarName('x'.repeat(4097))).toThrow(/longer/);
  });
});

function data(): Uint8Array {
  return enc.encode('x');
}
