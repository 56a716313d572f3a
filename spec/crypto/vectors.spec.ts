/**
 * Interop with the reference implementation: the python-tuf test repository's signatures must
 * verify here, and our ed25519 signatures must be byte-identical to the reference's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeCanonical } from '../../src/canonical/index.js';
import { hexToBytes, MAX_SIGNATURE_LENGTH, type PublicKeyData } from '../../src/crypto/keys.js';
import { nobleCryptoProvider } from '../../src/crypto/noble-provider.js';
import { nodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { InMemorySigner } from '../../src/crypto/signer.js';
import { pythonTufPath } from '../helpers/vectors.js';

const VECTORS = `${pythonTufPath()}/`;

interface Envelope {
  signatures: { keyid: string; sig: string }[];
  signed: Record<string, unknown> & {
    keys?: Record<string, PublicKeyData>;
    roles?: Record<string, { keyids: string[] }>;
    delegations?: {
      keys: Record<string, PublicKeyData>;
      roles: { name: string; keyids: string[] }[];
    };
  };
}

function load(name: string): Envelope {
  return JSON.parse(readFileSync(`${VECTORS}repository/metadata/${name}.json`, 'utf8'));
}

const root = load('root');
const targets = load('targets');
const role1 = load('role1');

/** The keys the delegator of each file lists for it. */
function keysFor(name: string): Record<string, PublicKeyData> {
  const pick = (keys: Record<string, PublicKeyData>, ids: string[]) =>
    Object.fromEntries(ids.map((id) => [id, keys[id]!]));
  if (name === 'root' || name === '1.root')
    return pick(root.signed.keys!, root.signed.roles!.root!.keyids);
  if (['timestamp', 'snapshot', 'targets'].includes(name)) {
    return pick(root.signed.keys!, root.signed.roles![name]!.keyids);
  }
  const delegator = name === 'role1' ? targets : role1;
  const role = delegator.signed.delegations!.roles.find((r) => r.name === name)!;
  return pick(delegator.signed.delegations!.keys, role.keyids);
}

const FILES = ['1.root', 'root', 'timestamp', 'snapshot', 'targets', 'role1', 'role2'];

describe('python-tuf repository signatures', () => {
  it.each(FILES)('%s.json: every signature verifies over the canonical bytes of signed', (name) => {
    const doc = load(name);
    const keys = keysFor(name);
    const bytes = encodeCanonical(doc.signed);
    expect(doc.signatures.length).toBeGreaterThan(0);
    for (const { keyid, sig } of doc.signatures) {
      const key = keys[keyid];
      expect(key, `key ${keyid} listed by the delegator`).toBeDefined();
      const signature = hexToBytes(sig, MAX_SIGNATURE_LENGTH);
      expect(nodeCryptoProvider.verify(key!, signature, bytes)).toBe(true);
      if (key!.keytype === 'ed25519')
        expect(nobleCryptoProvider.verify(key!, signature, bytes)).toBe(true);

      // The same signature over bytes that differ in one field must not verify.
      const tampered = encodeCanonical({
        ...doc.signed,
        version: (doc.signed.version as number) + 1,
      });
      expect(nodeCryptoProvider.verify(key!, signature, tampered)).toBe(false);
    }
  });
});

describe('signing with the python-tuf keystore', () => {
  const byKey: [string, string][] = [
    ['timestamp_key', 'timestamp'],
    ['snapshot_key', 'snapshot'],
    ['targets_key', 'targets'],
    ['delegation_key', 'role1'],
    ['delegation_key', 'role2'],
  ];

  it.each(byKey)(
    '%s signs %s.json byte-for-byte as the reference did (ed25519 is deterministic)',
    async (keyFile, name) => {
      const pem = readFileSync(`${VECTORS}keystore/${keyFile}`, 'utf8');
      const signer = InMemorySigner.fromPem(pem);
      const doc = load(name);
      const expected = doc.signatures[0]!;
      // The key id comes out as the repository lists it only because the legacy field is absent
      // from the signer's public key: match on the key material instead.
      expect(keysFor(name)[expected.keyid]!.keyval.public).toBe(signer.publicKey.keyval.public);
      const signature = await signer.sign(encodeCanonical(doc.signed));
      expect(Buffer.from(signature).toString('hex')).toBe(expected.sig);
    },
  );

  it('root_key (RSA-3072) produces RSASSA-PSS signatures the repository root key verifies', async () => {
    const signer = InMemorySigner.fromPem(readFileSync(`${VECTORS}keystore/root_key`, 'utf8'));
    expect(signer.publicKey.keytype).toBe('rsa');
    expect(signer.publicKey.scheme).toBe('rsassa-pss-sha256');
    const [rootKeyId] = root.signed.roles!.root!.keyids;
    const listed = root.signed.keys![rootKeyId!]!;
    const bytes = encodeCanonical(root.signed);
    const signature = await signer.sign(bytes);
    expect(signature.length).toBe(384);
    expect(nodeCryptoProvider.verify(listed, signature, bytes)).toBe(true);
    // PSS is randomized: a second signature differs but verifies too.
    const again = await signer.sign(bytes);
    expect(Buffer.from(again).equals(Buffer.from(signature))).toBe(false);
    expect(nodeCryptoProvider.verify(listed, again, bytes)).toBe(true);
  });
});
