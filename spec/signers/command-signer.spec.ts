import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeKeyId } from '../../src/crypto/keys.js';
import { nodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { InMemorySigner } from '../../src/crypto/signer.js';
import { CommandSigner } from '../../src/signers/command-signer.js';

/**
 * A real external signer: reads the payload on stdin and prints a hex signature made with the
 * PEM key named by its first argument; the second argument picks a misbehaviour.
 */
const SCRIPT = `
const { createPrivateKey, sign, constants } = require('node:crypto');
const { readFileSync } = require('node:fs');
const [keyPath, mode = 'ok'] = process.argv.slice(2);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const data = Buffer.concat(chunks);
  if (mode === 'fail') { process.stderr.write('token not present\\n'); process.exit(3); }
  if (mode === 'hang') { setInterval(() => {}, 1000); return; }
  if (mode === 'garbage') { process.stdout.write('signature: none\\n'); return; }
  if (mode === 'empty') return;
  if (mode === 'flood') { process.stdout.write('ab'.repeat(100000)); return; }
  const key = createPrivateKey(readFileSync(keyPath, 'utf8'));
  const payload = mode === 'tamper' ? Buffer.concat([data, Buffer.from('x')]) : data;
  const sig = key.asymmetricKeyType === 'ed25519'
    ? sign(null, payload, key)
    : sign('sha256', payload, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32, dsaEncoding: 'der' });
  process.stdout.write('  ' + sig.toString('hex').toUpperCase() + '\\n');
});
`;

let dir: string;
let script: string;
let edKeyPath: string;
let ecKeyPath: string;
let ed: InMemorySigner;
let ec: InMemorySigner;
const data = new TextEncoder().encode('{"signed":"bytes"}');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tufota-command-signer-'));
  script = join(dir, 'sign.cjs');
  await writeFile(script, SCRIPT);
  ed = await InMemorySigner.generate('ed25519');
  ec = await InMemorySigner.generate('ecdsa');
  edKeyPath = join(dir, 'ed.pem');
  ecKeyPath = join(dir, 'ec.pem');
  await writeFile(edKeyPath, ed.exportPrivateKeyPem());
  await writeFile(ecKeyPath, ec.exportPrivateKeyPem());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function signer(
  mode: string,
  options: { signWith?: 'ed' | 'ec'; publicKey?: InMemorySigner; timeoutMs?: number } = {},
) {
  return new CommandSigner({
    command: process.execPath,
    args: [script, options.signWith === 'ec' ? ecKeyPath : edKeyPath, mode],
    publicKey: (options.publicKey ?? ed).publicKey,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
}

describe('CommandSigner', () => {
  it('returns the verified signature the command prints as hex (case and whitespace ignored)', async () => {
    const s = signer('ok');
    expect(s.keyid).toBe(computeKeyId(ed.publicKey));
    const sig = await s.sign(data);
    expect(Buffer.from(sig).equals(Buffer.from(await ed.sign(data)))).toBe(true);
  });

  it('works for ECDSA keys (DER signatures)', async () => {
    const sig = await signer('ok', { signWith: 'ec', publicKey: ec }).sign(data);
    expect(nodeCryptoProvider.verify(ec.publicKey, sig, data)).toBe(true);
  });

  it('passes arguments without a shell', async () => {
    const s = new CommandSigner({
      command: process.execPath,
      args: [script, `${edKeyPath}; echo pwned`, 'ok'],
      publicKey: ed.publicKey,
    });
    // The whole string is one argument: the key path does not exist, so the script crashes.
    await expect(s.sign(data)).rejects.toMatchObject({
      code: 'ERR_TUF_SIGNER',
      message: expect.stringMatching(/exited with status 1/),
    });
  });

  const failures: [string, string, RegExp, { signWith?: 'ed' | 'ec'; timeoutMs?: number }?][] = [
    ['non-zero exit, with its stderr', 'fail', /exited with status 3: token not present/],
    ['timeout', 'hang', /did not finish within 300 ms/, { timeoutMs: 300 }],
    ['garbage on stdout', 'garbage', /did not print a hex signature.*signature: none/],
    ['nothing on stdout', 'empty', /got nothing/],
    ['too much on stdout', 'flood', /printed more than 65536 bytes/],
    ['a signature over other bytes', 'tamper', /does not verify against key/],
    ['a signature by another key', 'ok', /does not verify against key/, { signWith: 'ec' }],
  ];
  it.each(failures)('fails with ERR_TUF_SIGNER on %s', async (_name, mode, message, options) => {
    await expect(signer(mode, options).sign(data)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_TUF_SIGNER', message: expect.stringMatching(message) }),
    );
  });

  it('fails with ERR_TUF_SIGNER when the command does not exist', async () => {
    const s = new CommandSigner({ command: join(dir, 'no-such-signer'), publicKey: ed.publicKey });
    await expect(s.sign(data)).rejects.toMatchObject({
      code: 'ERR_TUF_SIGNER',
      message: expect.stringMatching(/could not be started \(ENOENT/),
    });
  });

  it('refuses bad configuration up front', () => {
    expect(() => new CommandSigner({ command: '', publicKey: ed.publicKey })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
    expect(
      () => new CommandSigner({ command: 'x', publicKey: ed.publicKey, timeoutMs: 0 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }));
    expect(
      () =>
        new CommandSigner({
          command: 'x',
          publicKey: { keytype: 'rsa', scheme: 'rsa-pkcs1v15-sha256', keyval: { public: 'p' } },
        }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_UNSUPPORTED_ALGORITHM' }));
  });
});
