import { describe, expect, it } from 'vitest';
import { TargetVerifier } from '../../src/client/target-verifier.js';
import { hashBytes } from '../../src/crypto/index.js';
import { TargetFile } from '../../src/models/index.js';

const content = new TextEncoder().encode('0123456789abcdef');
const info = new TargetFile('fw/a.img', content.length, hashBytes(content, ['sha256', 'sha512']));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  throw new Error('expected an error');
}

describe('TargetVerifier', () => {
  it('accepts the exact bytes fed in any chunking', () => {
    const verifier = new TargetVerifier(info);
    verifier.update(content.subarray(0, 3));
    verifier.update(content.subarray(3, 3));
    verifier.update(content.subarray(3));
    verifier.finish();
    expect(verifier.bytesSeen).toBe(content.length);
  });

  it('throws as soon as the trusted length is exceeded, without counting the chunk', () => {
    const verifier = new TargetVerifier(info);
    verifier.update(content);
    expect(codeOf(() => verifier.update(new Uint8Array(1)))).toBe(
      'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    );
    expect(verifier.bytesSeen).toBe(content.length);
  });

  it('refuses a short stream', () => {
    const verifier = new TargetVerifier(info);
    verifier.update(content.subarray(1));
    expect(codeOf(() => verifier.finish())).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });

  it('checks every listed hash, not only the first', () => {
    const wrongSecond = new TargetFile('a', content.length, {
      sha256: hashBytes(content, ['sha256']).sha256 ?? '',
      sha512: '00'.repeat(64),
    });
    const verifier = new TargetVerifier(wrongSecond);
    verifier.update(content);
    expect(codeOf(() => verifier.finish())).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });

  it('accepts uppercase hex digests in metadata', () => {
    const upper = new TargetFile('a', content.length, {
      sha256: (hashBytes(content, ['sha256']).sha256 ?? '').toUpperCase(),
    });
    const verifier = new TargetVerifier(upper);
    verifier.update(content);
    verifier.finish();
  });

  it('refuses a hash algorithm it does not implement instead of ignoring it', () => {
    const odd = new TargetFile('a', 1, { md5: 'ab', sha256: 'cd' });
    expect(codeOf(() => new TargetVerifier(odd))).toBe('ERR_TUF_UNSUPPORTED_ALGORITHM');
  });

  it('resumes from a prefix already on disk', async () => {
    async function* prefix(): AsyncGenerator<Uint8Array> {
      yield content.subarray(0, 4);
      yield content.subarray(4, 9);
    }
    const verifier = await TargetVerifier.fromPrefix(info, prefix());
    expect(verifier.bytesSeen).toBe(9);
    verifier.update(content.subarray(9));
    verifier.finish();
  });

  it('refuses a prefix longer than the target', async () => {
    async function* prefix(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(content.length + 1);
    }
    await expect(TargetVerifier.fromPrefix(info, prefix())).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
  });

  it('cannot be used after finish()', () => {
    const verifier = new TargetVerifier(info);
    verifier.update(content);
    verifier.finish();
    expect(codeOf(() => verifier.update(new Uint8Array(0)))).toBe('ERR_TUF_INVALID_STATE');
    expect(codeOf(() => verifier.finish())).toBe('ERR_TUF_INVALID_STATE');
  });
});
