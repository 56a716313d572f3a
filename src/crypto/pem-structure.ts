/**
 * Structural checks of an encrypted private key PEM that need no password: the armour (BEGIN and
 * END lines), the base64 body, and the DER envelope of PKCS#8 `EncryptedPrivateKeyInfo`
 * (RFC 5958 §3: `SEQUENCE { AlgorithmIdentifier, OCTET STRING }`) or of a legacy OpenSSL
 * `Proc-Type: 4,ENCRYPTED` block.
 *
 * Why: when decryption fails, OpenSSL cannot say whether the password was wrong or the file was
 * truncated or altered, and telling an operator "wrong password" about a damaged file sends them
 * hunting for a password that was right all along. A file whose envelope is intact and which
 * fails the cipher's padding check almost certainly met the wrong password; a file whose
 * envelope is broken is damaged whatever the password.
 *
 * Does not check: the cipher parameters' meaning (OpenSSL does), or unencrypted keys (their
 * parse errors already say "malformed").
 *
 * Pure. Safe for concurrent use.
 *
 * @module
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Why the encrypted private key in `pem` is damaged, or `undefined` when its armour and envelope
 * are intact (then a decryption failure points at the password).
 *
 * @example
 * ```ts
 * encryptedPemDamage(pem.slice(0, 200)); // 'the PEM has no END line: the file is truncated'
 * ```
 */
export function encryptedPemDamage(pem: string): string | undefined {
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem);
  if (begin === null) return 'the PEM has no BEGIN line';
  const label = begin[1] as string;
  const endMarker = `-----END ${label}-----`;
  const end = pem.indexOf(endMarker, begin.index);
  if (end < 0) return 'the PEM has no END line: the file is truncated';
  const lines = pem
    .slice(begin.index + begin[0].length, end)
    .split(/\r?\n/)
    .map((line) => line.trim());
  // Legacy OpenSSL blocks carry RFC 1421 headers (`Proc-Type`, `DEK-Info`) before the body.
  const headers = lines.filter((line) => /^[A-Za-z-]+:/.test(line));
  const body = lines.filter((line) => line !== '' && !/^[A-Za-z-]+:/.test(line)).join('');
  if (body.length === 0) return 'the PEM body is empty';
  if (body.length % 4 !== 0 || !BASE64.test(body)) {
    return 'the PEM body is not valid base64: the file was altered or truncated';
  }
  const der = Buffer.from(body, 'base64');
  if (label === 'ENCRYPTED PRIVATE KEY') return pkcs8EnvelopeDamage(der);
  if (!headers.some((h) => /^DEK-Info:/i.test(h))) {
    return 'the encrypted PEM has no DEK-Info header: the file was altered';
  }
  return der.length % 8 === 0
    ? undefined
    : `the encrypted key is ${der.length} bytes, not a whole number of cipher blocks: the file was altered or truncated`;
}

/** `EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }`. */
function pkcs8EnvelopeDamage(der: Uint8Array): string | undefined {
  const outer = readTlv(der, 0);
  if (outer === undefined || outer.tag !== 0x30) {
    return 'the key is not a DER sequence: the file was altered';
  }
  if (outer.end !== der.length) {
    return `the key's DER header announces ${outer.end} bytes but the file holds ${der.length}: the file was altered or truncated`;
  }
  const algorithm = readTlv(der, outer.start);
  if (algorithm === undefined || algorithm.tag !== 0x30) {
    return 'the key has no encryption algorithm: the file was altered';
  }
  const data = readTlv(der, algorithm.end);
  if (data === undefined || data.tag !== 0x04 || data.end !== outer.end) {
    return 'the key has no well-formed encrypted data: the file was altered or truncated';
  }
  const length = data.end - data.start;
  if (length === 0 || length % 8 !== 0) {
    return `the encrypted key is ${length} bytes, not a whole number of cipher blocks: the file was altered or truncated`;
  }
  return undefined;
}

interface Tlv {
  tag: number;
  /** First content byte. */
  start: number;
  /** One past the last content byte. */
  end: number;
}

/** One DER tag-length-value at `offset`, or `undefined` when it runs past the buffer. */
function readTlv(der: Uint8Array, offset: number): Tlv | undefined {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) return undefined;
  let length = first;
  let start = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    // Indefinite lengths (0x80) are not DER; four length bytes are far beyond any key file.
    if (count === 0 || count > 4) return undefined;
    length = 0;
    for (let i = 0; i < count; i += 1) {
      const byte = der[start + i];
      if (byte === undefined) return undefined;
      length = length * 256 + byte;
    }
    start += count;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}
