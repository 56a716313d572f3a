import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hashBytes, hashesEqual, hashStream, MultiHasher } from '../../src/crypto/hash.js';

const abc = new TextEncoder().encode('abc');
// FIPS 180-2 test vectors for "abc".
const ABC = {
  sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  sha384:
    'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
  sha512:
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
};

describe('hashes', () => {
  it('computes the standard digests, in lowercase hex, in one pass', () => {
    expect(hashBytes(abc, ['sha256', 'sha384', 'sha512'])).toEqual(ABC);
  });

  it('gives the same result however the bytes are chunked', () => {
    const hasher = new MultiHasher(['sha256', 'sha512']);
    for (const b of abc) hasher.update(Uint8Array.of(b));
    expect(hasher.length).toBe(3);
    expect(hasher.digest()).toEqual({ sha256: ABC.sha256, sha512: ABC.sha512 });
  });

  it('deduplicates algorithms', () => {
    expect(new MultiHasher(['sha256', 'sha256']).algorithms).toEqual(['sha256']);
  });

  it('refuses unknown algorithms with ERR_TUF_UNSUPPORTED_ALGORITHM', () => {
    for (const name of ['md5', 'sha1', 'SHA256', 'blake2b', '']) {
      expect(() => new MultiHasher([name])).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_UNSUPPORTED_ALGORITHM' }),
      );
    }
  });

  it('refuses an empty list and use after digest() with ERR_TUF_INVALID_STATE', () => {
    expect(() => new MultiHasher([])).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
    const hasher = new MultiHasher(['sha256']);
    hasher.digest();
    expect(() => hasher.update(abc)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
    expect(() => hasher.digest()).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
  });

  it('hashes a stream and counts its length', async () => {
    const chunks = [abc.subarray(0, 1), abc.subarray(1)];
    expect(await hashStream(Readable.from(chunks), ['sha256'])).toEqual({
      length: 3,
      hashes: { sha256: ABC.sha256 },
    });
    expect(await hashStream(Readable.from([]), ['sha256'])).toEqual({
      length: 0,
      hashes: { sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    });
  });

  it('stops a stream longer than maxLength with ERR_TUF_LENGTH_OR_HASH_MISMATCH without reading the rest', async () => {
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield new Uint8Array(1024);
      }
    }
    await expect(hashStream(endless(), ['sha256'], { maxLength: 4096 })).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    expect(pulled).toBe(5);
    expect(
      (await hashStream(Readable.from([new Uint8Array(4096)]), ['sha256'], { maxLength: 4096 }))
        .length,
    ).toBe(4096);
  });

  it('refuses string chunks (a stream opened with an encoding)', async () => {
    await expect(
      hashStream(Readable.from(['abc']) as AsyncIterable<Uint8Array>, ['sha256']),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });
});

describe('hashesEqual', () => {
  it('compares digests exactly', () => {
    expect(hashesEqual(ABC.sha256, ABC.sha256)).toBe(true);
    expect(hashesEqual(ABC.sha256, `${ABC.sha256.slice(0, -1)}e`)).toBe(false);
    expect(hashesEqual(ABC.sha256, ABC.sha256.slice(0, -2))).toBe(false);
    expect(hashesEqual(ABC.sha256, ABC.sha256.toUpperCase())).toBe(false);
    expect(hashesEqual('', '')).toBe(false);
    expect(hashesEqual('ab\u0100', 'ab\u0000')).toBe(false);
    expect(hashesEqual(ABC.sha256, undefined as unknown as string)).toBe(false);
  });
});
