import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, type PublicKeyData } from '../../src/crypto/keys.js';
import { nobleCryptoProvider, nobleEd25519Sign } from '../../src/crypto/noble-provider.js';
import { createNodeCryptoProvider, nodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { InMemorySigner, publicKeyDataFromKeyObject } from '../../src/crypto/signer.js';

const data = new TextEncoder().encode('{"_type":"timestamp","version":7}');
const other = new TextEncoder().encode('{"_type":"timestamp","version":8}');

/** A fixed seed so that the noble and node signatures can be compared byte for byte. */
const SEED = hexToBytes('c2a78535cea9d26f849d9b25de5d9fcd0cbc2ca4653a65c09d125292a21df239');

function ed25519Key(publicHex: string): PublicKeyData {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
}

describe('ed25519: node and noble agree on every case', () => {
  let signer: InMemorySigner;
  let key: PublicKeyData;
  let sig: Uint8Array;

  beforeAll(async () => {
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]);
    signer = InMemorySigner.fromPem(
      `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`,
    );
    key = signer.publicKey;
    sig = await signer.sign(data);
  });

  it('signs byte-identically with node:crypto and noble', () => {
    expect(bytesToHex(nobleEd25519Sign(SEED, data))).toBe(bytesToHex(sig));
  });

  // [case, key, signature, data, expected verdict]
  const cases = (): [string, PublicKeyData, Uint8Array, Uint8Array, boolean][] => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`);
    const sPlusL = Buffer.from((s + L).toString(16).padStart(64, '0'), 'hex').reverse();
    const malleated = new Uint8Array([...sig.subarray(0, 32), ...sPlusL]);
    const identity = `01${'00'.repeat(31)}`;
    const trivial = new Uint8Array(64);
    trivial[0] = 1;
    const spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      hexToBytes(key.keyval.public),
    ]);
    const spkiPem = `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`;
    return [
      ['valid', key, sig, data, true],
      [
        'valid, public key in upper case hex',
        ed25519Key(key.keyval.public.toUpperCase()),
        sig,
        data,
        true,
      ],
      ['other data', key, sig, other, false],
      ['bit flipped in R', key, flip(sig, 3), data, false],
      ['bit flipped in S', key, flip(sig, 40), data, false],
      ['S + L (malleated, non-canonical S)', key, malleated, data, false],
      ['signature too short', key, sig.subarray(0, 63), data, false],
      ['signature too long', key, new Uint8Array([...sig, 0]), data, false],
      ['empty signature', key, new Uint8Array(0), data, false],
      ['all-zero signature', key, new Uint8Array(64), data, false],
      [
        'other key',
        ed25519Key('edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd'),
        sig,
        data,
        false,
      ],
      ['public key 63 hex chars', ed25519Key(key.keyval.public.slice(1)), sig, data, false],
      ['public key not hex', ed25519Key('zz'.repeat(32)), sig, data, false],
      ['public key as SPKI PEM instead of hex', ed25519Key(spkiPem), sig, data, false],
      [
        'small-order public key (identity) with the trivial signature',
        ed25519Key(identity),
        trivial,
        data,
        false,
      ],
      [
        'small-order public key (identity) with the trivial signature, other data',
        ed25519Key(identity),
        trivial,
        other,
        false,
      ],
      ['unknown scheme', { ...key, scheme: 'ed448' }, sig, data, false],
      ['unknown keytype', { ...key, keytype: 'ed448' }, sig, data, false],
      [
        'keyval missing',
        { keytype: 'ed25519', scheme: 'ed25519' } as unknown as PublicKeyData,
        sig,
        data,
        false,
      ],
      [
        'keyval.public not a string',
        {
          keytype: 'ed25519',
          scheme: 'ed25519',
          keyval: { public: 7 },
        } as unknown as PublicKeyData,
        sig,
        data,
        false,
      ],
      ['key is null', null as unknown as PublicKeyData, sig, data, false],
      ['signature is not bytes', key, 'ab' as unknown as Uint8Array, data, false],
    ];
  };

  it('gives the expected verdict, the same from both providers, for each case', () => {
    for (const [name, k, s, d, expected] of cases()) {
      expect({ name, node: nodeCryptoProvider.verify(k, s, d) }).toEqual({ name, node: expected });
      expect({ name, noble: nobleCryptoProvider.verify(k, s, d) }).toEqual({
        name,
        noble: expected,
      });
    }
  });

  it('verifies ed25519 signatures made by noble with node, and the other way round', async () => {
    for (let i = 0; i < 20; i++) {
      const msg = new TextEncoder().encode(`message ${i}`);
      const bySigner = await signer.sign(msg);
      expect(nobleCryptoProvider.verify(key, bySigner, msg)).toBe(true);
      expect(nodeCryptoProvider.verify(key, nobleEd25519Sign(SEED, msg), msg)).toBe(true);
    }
  });
});

describe('ECDSA P-256 (node provider)', () => {
  it('verifies DER signatures under both keytype spellings, refuses tampering and raw r||s', async () => {
    const signer = await InMemorySigner.generate('ecdsa');
    expect(signer.publicKey.keytype).toBe('ecdsa');
    expect(signer.publicKey.keyval.public).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const sig = await signer.sign(data);
    expect(sig[0]).toBe(0x30); // DER SEQUENCE
    const legacy = { ...signer.publicKey, keytype: 'ecdsa-sha2-nistp256' };
    expect(nodeCryptoProvider.verify(signer.publicKey, sig, data)).toBe(true);
    expect(nodeCryptoProvider.verify(legacy, sig, data)).toBe(true);
    expect(nodeCryptoProvider.verify(signer.publicKey, sig, other)).toBe(false);
    expect(nodeCryptoProvider.verify(signer.publicKey, flip(sig, sig.length - 2), data)).toBe(
      false,
    );
    expect(nodeCryptoProvider.verify(signer.publicKey, sig.subarray(0, 10), data)).toBe(false);
    const raw = sign('sha256', data, {
      key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    expect(nodeCryptoProvider.verify(signer.publicKey, raw, data)).toBe(false);
  });

  it('refuses keys on other curves, private keys and certificates given as public keys', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384Key: PublicKeyData = {
      keytype: 'ecdsa',
      scheme: 'ecdsa-sha2-nistp256',
      keyval: { public: String(p384.publicKey.export({ type: 'spki', format: 'pem' })) },
    };
    const p384Sig = sign('sha256', data, { key: p384.privateKey, dsaEncoding: 'der' });
    expect(nodeCryptoProvider.verify(p384Key, p384Sig, data)).toBe(false);

    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateAsPublic: PublicKeyData = {
      keytype: 'ecdsa',
      scheme: 'ecdsa-sha2-nistp256',
      keyval: { public: String(p256.privateKey.export({ type: 'pkcs8', format: 'pem' })) },
    };
    const p256Sig = sign('sha256', data, { key: p256.privateKey, dsaEncoding: 'der' });
    expect(nodeCryptoProvider.verify(privateAsPublic, p256Sig, data)).toBe(false);
    const twoBlocks = publicKeyDataFromKeyObject(p256.publicKey);
    expect(nodeCryptoProvider.verify(twoBlocks, p256Sig, data)).toBe(true);
    expect(
      nodeCryptoProvider.verify(
        { ...twoBlocks, keyval: { public: twoBlocks.keyval.public + twoBlocks.keyval.public } },
        p256Sig,
        data,
      ),
    ).toBe(false);
  });

  it('returns false, not an exception, for an RSA key under the ECDSA scheme', async () => {
    const rsa = await InMemorySigner.generate('rsa', { rsaModulusLength: 2048 });
    const sig = await rsa.sign(data);
    expect(
      nodeCryptoProvider.verify(
        { ...rsa.publicKey, keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256' },
        sig,
        data,
      ),
    ).toBe(false);
  });
});

describe('RSASSA-PSS-SHA256 (node provider)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = publicKeyDataFromKeyObject(publicKey);
  const pss = (saltLength: number) =>
    sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });

  it('accepts any salt length, as the reference (PSS.AUTO) does', () => {
    // 2048-bit modulus, SHA-256: the largest salt is 256 - 32 - 2 = 222 bytes.
    for (const saltLength of [0, 20, 32, 64, 222]) {
      expect({ saltLength, ok: nodeCryptoProvider.verify(key, pss(saltLength), data) }).toEqual({
        saltLength,
        ok: true,
      });
    }
  });

  it('refuses PKCS#1 v1.5 signatures, tampering, wrong lengths and signatures longer than the modulus', () => {
    const v15 = sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    expect(nodeCryptoProvider.verify(key, v15, data)).toBe(false);
    const good = pss(32);
    expect(nodeCryptoProvider.verify(key, good, other)).toBe(false);
    expect(nodeCryptoProvider.verify(key, flip(good, 100), data)).toBe(false);
    expect(nodeCryptoProvider.verify(key, good.subarray(1), data)).toBe(false);
    expect(nodeCryptoProvider.verify(key, new Uint8Array(512).fill(0xff), data)).toBe(false);
    expect(nodeCryptoProvider.verify(key, new Uint8Array(4096), data)).toBe(false);
  });

  it('signs with a 32-byte salt (PSS.DIGEST_LENGTH), which a strict salt-32 verifier accepts', async () => {
    const signer = await InMemorySigner.generate('rsa', { rsaModulusLength: 2048 });
    const sig = await signer.sign(data);
    const { createPublicKey, verify } = await import('node:crypto');
    const strict = (saltLength: number) =>
      verify(
        'sha256',
        data,
        {
          key: createPublicKey(signer.publicKey.keyval.public),
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength,
        },
        sig,
      );
    expect(strict(32)).toBe(true);
    expect(strict(64)).toBe(false);
  });

  it('returns false for garbage PEM', () => {
    for (const pem of [
      '',
      'not a key',
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
    ]) {
      expect(nodeCryptoProvider.verify({ ...key, keyval: { public: pem } }, pss(32), data)).toBe(
        false,
      );
    }
  });
});

describe('noble provider scope', () => {
  it('throws ERR_TUF_UNSUPPORTED_ALGORITHM for ECDSA and RSA keys rather than silently failing', async () => {
    const ecdsa = await InMemorySigner.generate('ecdsa');
    const sig = await ecdsa.sign(data);
    expect(() => nobleCryptoProvider.verify(ecdsa.publicKey, sig, data)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_UNSUPPORTED_ALGORITHM' }),
    );
    expect(() =>
      nobleCryptoProvider.verify(
        { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'junk' } },
        sig,
        data,
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_UNSUPPORTED_ALGORITHM' }));
  });
});

describe('node provider key cache', () => {
  it('parses each public key once however many signatures it checks, and caches unusable keys too', async () => {
    const provider = createNodeCryptoProvider();
    const signer = await InMemorySigner.generate('ecdsa');
    const sig = await signer.sign(data);
    for (let i = 0; i < 1000; i++) expect(provider.verify(signer.publicKey, sig, data)).toBe(true);
    expect(provider.cachedKeyCount).toBe(1);
    const garbage = { ...signer.publicKey, keyval: { public: 'garbage' } };
    for (let i = 0; i < 10; i++) expect(provider.verify(garbage, sig, data)).toBe(false);
    expect(provider.cachedKeyCount).toBe(2);
  });

  it('keeps the cache within its bound', () => {
    const provider = createNodeCryptoProvider({ maxCachedKeys: 3 });
    for (let i = 0; i < 10; i++) {
      provider.verify(ed25519Key(i.toString(16).padStart(64, '0')), new Uint8Array(64), data);
    }
    expect(provider.cachedKeyCount).toBe(3);
  });
});

describe('noble provider portability', () => {
  it('imports nothing from node: in its whole module graph (runtimes without node:crypto can load it)', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const [, spec] of source.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)) {
        expect({ file, spec }).not.toEqual({ file, spec: expect.stringMatching(/^node:/) });
        if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      }
    };
    visit(fileURLToPath(new URL('../../src/crypto/noble-provider.ts', import.meta.url)));
    expect(seen.size).toBeGreaterThan(3);
  });
});

describe('RSA public keys in PKCS#1 PEM', () => {
  it('verify like SubjectPublicKeyInfo ones (the reference loads both)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key: PublicKeyData = {
      keytype: 'rsa',
      scheme: 'rsassa-pss-sha256',
      keyval: { public: String(publicKey.export({ type: 'pkcs1', format: 'pem' })) },
    };
    expect(key.keyval.public).toMatch(/^-----BEGIN RSA PUBLIC KEY-----/);
    const sig = sign('sha256', data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    expect(nodeCryptoProvider.verify(key, sig, data)).toBe(true);
  });
});
