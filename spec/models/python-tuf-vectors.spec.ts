/**
 * Interop with the TUF reference implementation: metadata and keys made by python-tuf parse,
 * re-serialize to the same JSON document, and verify — which proves our canonical bytes are the
 * reference's. Tampering with any signed value breaks verification; signing the same `signed`
 * with the vector's ed25519 keys reproduces the reference's signatures byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/index.js';
import { Metadata, type Root, type Targets } from '../../src/models/index.js';
import { pythonTufPath } from '../helpers/vectors.js';

const METADATA_DIRS = [
  'repository/metadata',
  'client/test_repository1/metadata/current',
  'fishy_rolenames/metadata',
  'fishy_rolenames',
  'generated',
];

function jsonFiles(dir: string): string[] {
  return readdirSync(pythonTufPath(dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(dir, f));
}

function load(path: string): { bytes: Uint8Array; md: Metadata } {
  const bytes = new Uint8Array(readFileSync(pythonTufPath(path)));
  return { bytes, md: Metadata.fromBytes(bytes) };
}

describe('python-tuf vectors: parse and round trip', () => {
  const files = METADATA_DIRS.flatMap(jsonFiles);

  it('finds the vectors', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  for (const file of files) {
    it(`${file} re-serializes to an equal JSON document (unknown fields included)`, () => {
      const { bytes, md } = load(file);
      const original = JSON.parse(new TextDecoder().decode(bytes));
      expect(JSON.parse(new TextDecoder().decode(md.toBytes()))).toEqual(original);
      // And parsing our own output gives the same model again.
      expect(Metadata.fromBytes(md.toBytes()).toJSON()).toEqual(md.toJSON());
    });
  }
});

describe('python-tuf vectors: signatures verify with the delegator keys', () => {
  const repo = (name: string) => load(`repository/metadata/${name}`).md;
  const root = repo('root.json') as Metadata<Root>;
  const targets = repo('targets.json') as Metadata<Targets>;
  const role1 = repo('role1.json') as Metadata<Targets>;

  it('root is signed by its own root keys (an RSA-PSS key)', () => {
    expect(() => root.verifyDelegate('root', root)).not.toThrow();
    expect(Object.values(root.signed.keys).some((k) => k.keytype === 'rsa')).toBe(true);
  });

  for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
    it(`${role} is signed by the root's ${role} keys`, () => {
      expect(() => root.verifyDelegate(role, repo(`${role}.json`))).not.toThrow();
    });
  }

  it('role1 is signed by the key targets delegates to, role2 by role1', () => {
    expect(() => targets.verifyDelegate('role1', role1)).not.toThrow();
    expect(() => role1.verifyDelegate('role2', repo('role2.json'))).not.toThrow();
  });

  it('the generated ed25519 repository verifies', () => {
    const gen = (name: string) => load(`generated/${name}_with_ed25519.json`).md;
    const genRoot = gen('root');
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
      expect(() => genRoot.verifyDelegate(role, gen(role))).not.toThrow();
    }
  });

  it('the fishy role names repository verifies, "..", "." and "ö" included', () => {
    const fishy = (name: string) => load(`fishy_rolenames/metadata/${name}`).md;
    const fRoot = fishy('1.root.json');
    const fTargets = fishy('1.targets.json') as Metadata<Targets>;
    expect(() => fRoot.verifyDelegate('targets', fTargets)).not.toThrow();
    expect(() => fTargets.verifyDelegate('ö', fishy('1.ö.json'))).not.toThrow();
    expect(() => fTargets.verifyDelegate('.', fishy('1...json'))).not.toThrow();
    const a = load('fishy_rolenames/1.a.json').md;
    expect(() => fTargets.verifyDelegate('../a', a)).not.toThrow();
  });

  it('key ids listed by python-tuf are the ones we compute', () => {
    for (const [keyid, key] of Object.entries(root.signed.keys)) {
      expect(key.keyId()).toBe(keyid);
    }
    for (const [keyid, key] of Object.entries(targets.signed.delegations?.keys ?? {})) {
      expect(key.keyId()).toBe(keyid);
    }
  });
});

describe('python-tuf vectors: tampering breaks verification', () => {
  const root = load('repository/metadata/root.json').md as Metadata<Root>;
  const tamperings: [string, (m: Metadata<Targets>) => void][] = [
    ['version', (m) => (m.signed.version += 1)],
    ['expires', (m) => (m.signed.expires = new Date(m.signed.expires.getTime() + 1000))],
    ['a target length', (m) => ((m.signed.targets['file1.txt'] as { length: number }).length += 1)],
    [
      'a target hash',
      (m) =>
        ((m.signed.targets['file2.txt'] as { hashes: Record<string, string> }).hashes.sha256 =
          '00'.repeat(32)),
    ],
    [
      'custom data',
      (m) =>
        ((m.signed.targets['file1.txt'] as { custom?: Record<string, unknown> }).custom = {
          file_permissions: '0755',
        }),
    ],
    [
      'a delegation path',
      (m) => ((m.signed.delegations?.roles?.[0] as { paths?: string[] }).paths = ['*']),
    ],
    ['an unrecognized field', (m) => (m.signed.unrecognized.extra = 'x')],
    ['the spec version', (m) => (m.signed.specVersion = '1.0.1')],
  ];
  for (const [what, tamper] of tamperings) {
    it(`changing ${what} makes targets fail verification`, () => {
      const targets = load('repository/metadata/targets.json').md as Metadata<Targets>;
      expect(() => root.verifyDelegate('targets', targets)).not.toThrow();
      tamper(targets);
      let code: string | undefined;
      try {
        root.verifyDelegate('targets', targets);
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code).toBe('ERR_TUF_UNSIGNED');
    });
  }
});

describe('python-tuf vectors: signing reproduces the reference signatures', () => {
  const cases: [string, string][] = [
    ['timestamp_key', 'repository/metadata/timestamp.json'],
    ['snapshot_key', 'repository/metadata/snapshot.json'],
    ['targets_key', 'repository/metadata/targets.json'],
    ['delegation_key', 'repository/metadata/role1.json'],
    ['delegation_key', 'repository/metadata/role2.json'],
  ];
  for (const [keyName, file] of cases) {
    it(`${keyName} re-signs ${file} byte for byte (ed25519 is deterministic)`, async () => {
      const pem = readFileSync(pythonTufPath('keystore', keyName), 'utf8');
      const md = load(file).md;
      const original = [...md.signatures.values()][0];
      // The vector's key ids cover keyid_hash_algorithms, which a bare PEM does not carry.
      const signer = InMemorySigner.fromPem(pem, { keyid: original?.keyid });
      const fresh = await md.sign(signer);
      expect(fresh.sig).toBe(original?.sig);
    });
  }

  it('the RSA root key signs a root that the reference verification accepts', async () => {
    const pem = readFileSync(pythonTufPath('keystore', 'root_key'), 'utf8');
    const root = load('repository/metadata/root.json').md as Metadata<Root>;
    const signer = InMemorySigner.fromPem(pem, { keyid: root.signed.roles.root.keyids[0] });
    root.signed.version += 1;
    await root.sign(signer);
    expect(() => root.verifyDelegate('root', root)).not.toThrow();
  });
});
