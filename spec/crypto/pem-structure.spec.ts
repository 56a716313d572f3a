/**
 * A damaged encrypted key is told apart from a wrong password: truncation and alteration are
 * found in the PEM armour and the DER envelope, before any password is involved.
 */
import { describe, expect, it } from 'vitest';
import { InMemorySigner, readPrivateKeyPem } from '../../src/crypto/index.js';
import { encryptedPemDamage } from '../../src/crypto/pem-structure.js';

const signer = await InMemorySigner.generate('ed25519');
const pem = signer.exportPrivateKeyPem('pw');
const lines = pem.trimEnd().split('\n');

/** Alter one base64 character of the body's line `line` at column `col`. */
function alter(line: number, col: number): string {
  const copy = [...lines];
  const text = copy[line] as string;
  copy[line] = text.slice(0, col) + (text[col] === 'A' ? 'B' : 'A') + text.slice(col + 1);
  return `${copy.join('\n')}\n`;
}

describe('encryptedPemDamage', () => {
  it('finds nothing wrong with an intact key, so a failure there means the password', () => {
    expect(encryptedPemDamage(pem)).toBeUndefined();
    const wrong = readPrivateKeyPem(pem, 'not the password');
    expect(wrong.ok === false && wrong.problem).toBe('wrong-password');
  });

  it.each([
    ['cut in the middle', pem.slice(0, Math.floor(pem.length / 2)), /no END line/],
    ['a body line lost', `${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}\n`, /altered/],
    ['the DER header altered', alter(1, 1), /altered/],
    ['not base64', pem.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'), /base64/],
  ])('%s: damaged, with the right password and without one', (_name, damaged, reason) => {
    expect(encryptedPemDamage(damaged)).toMatch(reason);
    for (const password of ['pw', undefined]) {
      const result = readPrivateKeyPem(damaged, password);
      expect(result.ok).toBe(false);
      expect(result.ok === false && result.problem).toBe('malformed');
    }
  });

  it('altered ciphertext that decrypts to garbage is damage, not a wrong password', () => {
    // Alter a byte in the middle of the body: the envelope stays intact and the CBC padding of
    // the last block still checks out, so only the decrypted content is garbage.
    const middle = Math.floor(lines.length / 2);
    const result = readPrivateKeyPem(alter(middle, 10), 'pw');
    expect(result.ok === false && result.problem).toBe('malformed');
  });
});
