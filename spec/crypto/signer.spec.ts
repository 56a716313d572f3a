import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeKeyId } from '../../src/crypto/keys.js';
import { nodeCryptoProvider } from '../../src/crypto/node-provider.js';
import {
  type GenerateKeyType,
  InMemorySigner,
  publicKeyFromPrivatePem,
  readPrivateKeyPem,
} from '../../src/crypto/signer.js';

const data = new TextEncoder().encode('payload');

describe('InMemorySigner', () => {
  const types: [GenerateKeyType, string, string][] = [
    ['ed25519', 'ed25519', 'ed25519'],
    ['ecdsa', 'ecdsa', 'ecdsa-sha2-nistp256'],
    ['rsa', 'rsa', 'rsassa-pss-sha256'],
  ];

  it.each(types)(
    'generates %s keys whose signatures verify and whose key id is computed',
    async (type, keytype, scheme) => {
      const signer = await InMemorySigner.generate(type);
      expect(signer.publicKey.keytype).toBe(keytype);
      expect(signer.publicKey.scheme).toBe(scheme);
      expect(signer.keyid).toBe(computeKeyId(signer.publicKey));
      const sig = await signer.sign(data);
      expect(nodeCryptoProvider.verify(signer.publicKey, sig, data)).toBe(true);
      expect(
        nodeCryptoProvider.verify(signer.publicKey, sig, new TextEncoder().encode('other')),
      ).toBe(false);
    },
  );

  it('generates RSA-3072 by default', async () => {
    const signer = await InMemorySigner.generate('rsa');
    expect((await signer.sign(data)).length).toBe(384);
  });

  it('writes an ed25519 public key as 64 lowercase hex characters', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    expect(signer.publicKey.keyval.public).toMatch(/^[0-9a-f]{64}$/);
  });

  it('can write the deprecated ecdsa-sha2-nistp256 keytype and a given key id', async () => {
    const signer = await InMemorySigner.generate('ecdsa', {
      ecdsaKeytype: 'ecdsa-sha2-nistp256',
      keyid: 'k1',
    });
    expect(signer.publicKey.keytype).toBe('ecdsa-sha2-nistp256');
    expect(signer.keyid).toBe('k1');
    expect(nodeCryptoProvider.verify(signer.publicKey, await signer.sign(data), data)).toBe(true);
  });

  it('refuses RSA keys below 2048 bits and unknown types with ERR_TUF_INVALID_STATE', async () => {
    await expect(InMemorySigner.generate('rsa', { rsaModulusLength: 1024 })).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
    await expect(InMemorySigner.generate('dsa' as GenerateKeyType)).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });

  it.each(['ed25519', 'ecdsa'] as const)(
    'round-trips %s through encrypted PKCS#8 PEM with the same key id and signatures',
    async (type) => {
      const signer = await InMemorySigner.generate(type);
      const pem = signer.exportPrivateKeyPem('correct horse');
      expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      const again = InMemorySigner.fromPem(pem, { password: 'correct horse' });
      expect(again.keyid).toBe(signer.keyid);
      expect(again.publicKey).toEqual(signer.publicKey);
      expect(nodeCryptoProvider.verify(signer.publicKey, await again.sign(data), data)).toBe(true);
    },
  );

  it('exports an unencrypted PKCS#8 PEM only when no password is given, and refuses an empty one', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    expect(signer.exportPrivateKeyPem()).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(() => signer.exportPrivateKeyPem('')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
  });

  it('uses AES-256-CBC for encrypted exports', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    const pem = signer.exportPrivateKeyPem('pw');
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    // OID 2.16.840.1.101.3.4.1.42 (aes256-CBC) appears in the PBES2 parameters.
    expect(der.includes(Buffer.from('060960864801650304012a', 'hex'))).toBe(true);
  });

  it('does not reveal the private key when inspected or serialized', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    const { inspect } = await import('node:util');
    expect(inspect(signer)).not.toMatch(/PRIVATE|privateKey/);
    expect(JSON.stringify(signer)).not.toMatch(/PRIVATE/);
  });
});

describe('loading private keys', () => {
  const ed = generateKeyPairSync('ed25519').privateKey;
  const encrypted = String(
    ed.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }),
  );

  it('reports each problem with ERR_TUF_KEY_FILE and a reason', () => {
    const table: [string, string | undefined, string][] = [
      [encrypted, undefined, 'password-required'],
      [encrypted, 'wrong', 'wrong-password'],
      ['hello', undefined, 'not-pem'],
      [
        String(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' })),
        undefined,
        'not-pem',
      ],
      [`${encrypted}${encrypted}`, 'pw', 'not-pem'],
      ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', undefined, 'malformed'],
      [
        String(
          generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
            type: 'pkcs8',
            format: 'pem',
          }),
        ),
        undefined,
        'unsupported',
      ],
      [
        String(generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' })),
        undefined,
        'unsupported',
      ],
      ['x'.repeat(70_000), undefined, 'too-large'],
    ];
    for (const [pem, password, problem] of table) {
      const result = readPrivateKeyPem(pem, password);
      expect(result.ok ? 'ok' : result.problem).toBe(problem);
      expect(() => InMemorySigner.fromPem(pem, password === undefined ? {} : { password })).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_KEY_FILE' }),
      );
    }
  });

  it('derives the public key of a private PEM (publicKeyFromPrivatePem)', () => {
    const signer = InMemorySigner.fromPem(encrypted, { password: 'pw' });
    expect(publicKeyFromPrivatePem(encrypted, { password: 'pw' })).toEqual(signer.publicKey);
  });

  it('refuses a scheme that does not fit the key with ERR_TUF_UNSUPPORTED_ALGORITHM', () => {
    expect(() =>
      InMemorySigner.fromPem(encrypted, { password: 'pw', scheme: 'rsassa-pss-sha256' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_UNSUPPORTED_ALGORITHM' }));
  });

  it('reads traditional (PKCS#1) RSA PEM too', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pkcs1 = String(rsa.export({ type: 'pkcs1', format: 'pem' }));
    expect(InMemorySigner.fromPem(pkcs1).publicKey.keytype).toBe('rsa');
  });

  it('refuses a public key where a private one is needed', () => {
    expect(() => InMemorySigner.fromKeyObject(generateKeyPairSync('ed25519').publicKey)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
  });
});
