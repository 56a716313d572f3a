import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { InMemorySigner } from '../../src/crypto/signer.js';
import { FileSigner, MAX_KEY_FILE_SIZE, writeKeyFile } from '../../src/signers/file-signer.js';
import { pythonTufPath } from '../helpers/vectors.js';

const VECTORS = `${pythonTufPath()}/`;
const data = new TextEncoder().encode('payload');
const ENV = 'TUFOTA_TEST_KEY_PASSWORD';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tufota-file-signer-'));
  delete process.env[ENV];
});
afterEach(async () => {
  delete process.env[ENV];
  await rm(dir, { recursive: true, force: true });
});

describe('writeKeyFile + FileSigner.open', () => {
  it('writes an encrypted PKCS#8 key with mode 0600 that opens with the password and signs for the same key', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    const path = join(dir, 'targets.pem');
    await writeKeyFile(path, signer, 'secret');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

    const opened = await FileSigner.open(path, { password: 'secret', passwordEnv: null });
    expect(opened.encrypted).toBe(true);
    expect(opened.keyid).toBe(signer.keyid);
    expect(opened.publicKey).toEqual(signer.publicKey);
    expect(nodeCryptoProvider.verify(signer.publicKey, await opened.sign(data), data)).toBe(true);
  });

  it('refuses to overwrite an existing key file unless asked', async () => {
    const path = join(dir, 'k.pem');
    await writeKeyFile(path, await InMemorySigner.generate('ed25519'), 'pw');
    const second = await InMemorySigner.generate('ed25519');
    await expect(writeKeyFile(path, second, 'pw')).rejects.toMatchObject({
      code: 'ERR_TUF_KEY_FILE',
    });
    await writeKeyFile(path, second, 'pw', { overwrite: true });
    expect((await FileSigner.open(path, { password: 'pw' })).keyid).toBe(second.keyid);
  });

  it('refuses an empty password when writing', async () => {
    await expect(
      writeKeyFile(join(dir, 'k.pem'), await InMemorySigner.generate('ed25519'), ''),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
  });

  it('takes the password from the named environment variable, then from the prompt', async () => {
    const path = join(dir, 'k.pem');
    await writeKeyFile(path, await InMemorySigner.generate('ecdsa'), 'from-env');
    process.env[ENV] = 'from-env';
    let prompted = 0;
    const prompt = async () => {
      prompted++;
      return 'from-env';
    };
    expect((await FileSigner.open(path, { passwordEnv: ENV, prompt })).publicKey.keytype).toBe(
      'ecdsa',
    );
    expect(prompted).toBe(0);
    delete process.env[ENV];
    await FileSigner.open(path, { passwordEnv: ENV, prompt });
    expect(prompted).toBe(1);
  });

  it('says which password was wrong and how to supply another (ERR_TUF_KEY_FILE)', async () => {
    const path = join(dir, 'k.pem');
    await writeKeyFile(path, await InMemorySigner.generate('ed25519'), 'right');
    process.env[ENV] = 'wrong';
    const error = await FileSigner.open(path, { passwordEnv: ENV }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TUF_KEY_FILE' });
    expect((error as Error).message).toContain(`wrong password for key file ${path}`);
    expect((error as Error).message).toContain(`$${ENV}`);
    await expect(FileSigner.open(path, { password: 'nope' })).rejects.toThrow(/wrong password/);
  });

  it('says a password is needed when none is found', async () => {
    const path = join(dir, 'k.pem');
    await writeKeyFile(path, await InMemorySigner.generate('ed25519'), 'right');
    await expect(FileSigner.open(path, { passwordEnv: ENV })).rejects.toThrow(
      expect.objectContaining({
        code: 'ERR_TUF_KEY_FILE',
        message: expect.stringMatching(/encrypted.*set TUFOTA_TEST_KEY_PASSWORD/),
      }),
    );
  });

  it('opens the unencrypted python-tuf keystore keys without asking for a password', async () => {
    let prompted = false;
    const signer = await FileSigner.open(`${VECTORS}keystore/timestamp_key`, {
      prompt: async () => {
        prompted = true;
        return '';
      },
    });
    expect(prompted).toBe(false);
    expect(signer.encrypted).toBe(false);
    expect(signer.publicKey.keyval.public).toBe(
      '82ccf6ac47298ff43bfa0cd639868894e305a99c723ff0515ae2e9856eb5bbf4',
    );
  });
});

describe('FileSigner.open refuses bad files with ERR_TUF_KEY_FILE', () => {
  const cases: [string, () => string | Buffer, RegExp][] = [
    ['missing file', () => '', /no such file/],
    ['not PEM', () => 'hello', /not a PEM private key/],
    [
      'public key',
      () =>
        String(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' })),
      /not a PEM private key/,
    ],
    [
      'corrupt PEM',
      () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      /is damaged/,
    ],
    [
      'truncated encrypted PEM (damage, not a password problem)',
      () =>
        '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAh\n',
      /is damaged: the PEM has no END line/,
    ],
    [
      'P-384 key',
      () =>
        String(
          generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
            type: 'pkcs8',
            format: 'pem',
          }),
        ),
      /cannot sign with.*P-256/,
    ],
    ['oversized file', () => Buffer.alloc(MAX_KEY_FILE_SIZE + 1, 0x41), /larger than/],
  ];
  it.each(cases)('%s', async (name, content, message) => {
    const path = join(dir, 'key.pem');
    if (name !== 'missing file') await writeFile(path, content());
    await expect(FileSigner.open(path, { passwordEnv: null })).rejects.toThrow(
      expect.objectContaining({
        code: 'ERR_TUF_KEY_FILE',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('a directory', async () => {
    await expect(FileSigner.open(dir)).rejects.toMatchObject({ code: 'ERR_TUF_KEY_FILE' });
  });
});
