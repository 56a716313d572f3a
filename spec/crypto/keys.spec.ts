import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bytesToHex,
  computeKeyId,
  hexToBytes,
  isStrongEd25519PublicKey,
  isSupportedKey,
  keyAlgorithm,
  type PublicKeyData,
  tryHexToBytes,
} from '../../src/crypto/keys.js';
import { pythonTufPath } from '../helpers/vectors.js';

const VECTORS = `${pythonTufPath()}/`;

function keysOf(file: string): Record<string, PublicKeyData> {
  const doc = JSON.parse(readFileSync(`${VECTORS}${file}`, 'utf8'));
  return doc.signed.keys ?? doc.signed.delegations.keys;
}

describe('computeKeyId', () => {
  it('reproduces every key id securesystemslib wrote for the python-tuf test repository (legacy keyid_hash_algorithms included)', () => {
    const keys = {
      ...keysOf('repository/metadata/root.json'),
      ...keysOf('repository/metadata/targets.json'),
    };
    const entries = Object.entries(keys);
    expect(entries.map(([, k]) => k.keytype).sort()).toEqual([
      'ed25519',
      'ed25519',
      'ed25519',
      'ed25519',
      'rsa',
    ]);
    for (const [keyid, key] of entries) {
      expect(key.keyid_hash_algorithms).toEqual(['sha256', 'sha512']);
      expect(computeKeyId(key)).toBe(keyid);
    }
  });

  it('hashes only keytype, scheme and keyval.public when there is no legacy field (compute_default_keyid)', () => {
    const key = keysOf('repository/metadata/root.json')[
      '59a4df8af818e9ed7abe0764c0b47b4240952aa0d179b5b78346c470ac30278d'
    ]!;
    const modern = {
      keytype: key.keytype,
      scheme: key.scheme,
      keyval: { public: key.keyval.public },
    };
    const id = computeKeyId(modern);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(id).not.toBe('59a4df8af818e9ed7abe0764c0b47b4240952aa0d179b5b78346c470ac30278d');
    // The canonical form of the three fields, hashed independently:
    const canonical = `{"keytype":"ed25519","keyval":{"public":"${key.keyval.public}"},"scheme":"ed25519"}`;
    expect(id).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('ignores a private part and any other keyval field', () => {
    const base = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'ab'.repeat(32) } };
    const withPrivate = { ...base, keyval: { public: 'ab'.repeat(32), private: 'cd'.repeat(32) } };
    expect(computeKeyId(withPrivate)).toBe(computeKeyId(base));
  });

  it('gives other ids than the hard-coded ones of python-tuf generate_md.py: key ids are names, the reference never checks them', () => {
    const keys = keysOf('generated/root_with_ed25519.json');
    expect(Object.keys(keys)).toHaveLength(4);
    for (const [keyid, key] of Object.entries(keys)) expect(computeKeyId(key)).not.toBe(keyid);
  });

  it('refuses objects that are not keys with ERR_TUF_FORMAT', () => {
    for (const bad of [
      null,
      {},
      { keytype: 'ed25519', scheme: 'ed25519' },
      { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 5 } },
      { keytype: 1, scheme: 'ed25519', keyval: { public: 'aa' } },
      { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'x'.repeat(20_000) } },
      {
        keytype: 'ed25519',
        scheme: 'ed25519',
        keyval: { public: 'aa' },
        keyid_hash_algorithms: 'sha256',
      },
    ]) {
      expect(() => computeKeyId(bad as unknown as PublicKeyData)).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
      );
    }
  });
});

describe('keyAlgorithm / isSupportedKey', () => {
  const table: [string, string, string | undefined][] = [
    ['ed25519', 'ed25519', 'ed25519'],
    ['ecdsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
    ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
    ['rsa', 'rsassa-pss-sha256', 'rsassa-pss-sha256'],
    ['rsa', 'rsa-pkcs1v15-sha256', undefined],
    ['rsa', 'rsassa-pss-sha512', undefined],
    ['ecdsa', 'ecdsa-sha2-nistp384', undefined],
    ['ed25519', 'ecdsa-sha2-nistp256', undefined],
    ['sigstore-oidc', 'Fulcio', undefined],
    ['ED25519', 'ed25519', undefined],
  ];
  it.each(table)('%s/%s → %s', (keytype, scheme, expected) => {
    const key = { keytype, scheme, keyval: { public: '' } };
    expect(keyAlgorithm(key)).toBe(expected);
    expect(isSupportedKey(key)).toBe(expected !== undefined);
  });

  it('treats a non-object as unsupported rather than throwing', () => {
    expect(isSupportedKey(null as unknown as PublicKeyData)).toBe(false);
  });
});

describe('isStrongEd25519PublicKey', () => {
  it('accepts a real key and refuses small-order and non-canonical encodings', () => {
    expect(
      isStrongEd25519PublicKey(
        hexToBytes('edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd'),
      ),
    ).toBe(true);
    expect(isStrongEd25519PublicKey(hexToBytes(`01${'00'.repeat(31)}`))).toBe(false); // identity
    expect(isStrongEd25519PublicKey(hexToBytes('00'.repeat(32)))).toBe(false); // order 4
    expect(isStrongEd25519PublicKey(hexToBytes(`ec${'ff'.repeat(30)}7f`))).toBe(false); // order 2
    expect(isStrongEd25519PublicKey(hexToBytes(`ee${'ff'.repeat(30)}7f`))).toBe(false); // y = p + 1
    expect(isStrongEd25519PublicKey(new Uint8Array(31))).toBe(false);
  });
});

describe('hex helpers', () => {
  it('round-trips and accepts either case', () => {
    expect(bytesToHex(Uint8Array.of(0, 1, 0xab, 0xff))).toBe('0001abff');
    expect(hexToBytes('0001ABff')).toEqual(Uint8Array.of(0, 1, 0xab, 0xff));
  });
  it('refuses odd length, non-hex and over-long input', () => {
    expect(tryHexToBytes('abc', 10)).toBeUndefined();
    expect(tryHexToBytes('zz', 10)).toBeUndefined();
    expect(tryHexToBytes(' ab', 10)).toBeUndefined();
    expect(tryHexToBytes('aabbcc', 2)).toBeUndefined();
    expect(() => hexToBytes('xyz')).toThrow(expect.objectContaining({ code: 'ERR_TUF_FORMAT' }));
  });
});
