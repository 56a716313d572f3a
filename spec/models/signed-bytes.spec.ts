/**
 * `Metadata.fromBytesForVerification` computes the signed bytes from the parsed JSON value
 * instead of from the model. The trusted set verifies signatures over those bytes, so they must
 * be exactly `metadata.signedBytes()` for every document the parser accepts: checked here on the
 * python-tuf vectors (made by the reference), on metadata built with every model class, and on
 * documents carrying unrecognized fields at every level the spec allows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DelegatedRole,
  Delegations,
  Key,
  Metadata,
  MetaFile,
  Root,
  Snapshot,
  SuccinctRoles,
  TargetFile,
  Targets,
  Timestamp,
} from '../../src/models/index.js';
import { pythonTufPath } from '../helpers/vectors.js';

const EXPIRES = new Date('2031-02-03T04:05:06Z');
const KEY = new Key('ed25519', 'ed25519', { public: 'ab'.repeat(32) });

function expectSameSignedBytes(bytes: Uint8Array): void {
  const { metadata, signedBytes } = Metadata.fromBytesForVerification(
    bytes,
    Metadata.fromBytes(bytes).signed.type,
  );
  expect(Buffer.from(signedBytes).toString('utf8')).toBe(
    Buffer.from(metadata.signedBytes()).toString('utf8'),
  );
}

/** Every role with every optional part present. */
function everyRole(): Metadata[] {
  const root = new Root({ expires: EXPIRES, consistentSnapshot: false });
  root.addKey(KEY, 'root');
  const timestamp = new Timestamp({
    expires: EXPIRES,
    snapshotMeta: new MetaFile(3, 1234, { sha256: 'AB'.repeat(32) }),
  });
  const snapshot = new Snapshot({
    expires: EXPIRES,
    meta: { 'targets.json': new MetaFile(2), '__proto__.json': new MetaFile(1, 5) },
  });
  const pathRoles = new Targets({
    expires: EXPIRES,
    delegations: new Delegations({
      keys: { [KEY.keyId()]: KEY },
      roles: [
        new DelegatedRole({
          name: 'a',
          keyids: [KEY.keyId()],
          threshold: 1,
          terminating: true,
          paths: ['x/*'],
        }),
        new DelegatedRole({
          name: 'b',
          keyids: [],
          threshold: 1,
          terminating: false,
          pathHashPrefixes: ['0a'],
        }),
      ],
    }),
  });
  pathRoles.addTarget(
    new TargetFile('dir/ünïcode file.bin', 0, { sha512: 'ff'.repeat(64) }, { hw: ['x'] }),
  );
  const bins = new Targets({
    expires: EXPIRES,
    delegations: new Delegations({
      keys: {},
      succinctRoles: new SuccinctRoles({
        keyids: [],
        threshold: 1,
        bitLength: 4,
        namePrefix: 'bins',
      }),
    }),
  });
  return [root, timestamp, snapshot, pathRoles, bins].map((signed) => new Metadata(signed));
}

describe('Metadata.fromBytesForVerification: signed bytes from the parsed value', () => {
  const vectorDirs = [
    'repository/metadata',
    'client/test_repository1/metadata/current',
    'fishy_rolenames/metadata',
    'generated',
  ];
  const files = vectorDirs.flatMap((dir) =>
    readdirSync(pythonTufPath(dir))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(dir, f)),
  );

  it('equal metadata.signedBytes() on every python-tuf vector', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files)
      expectSameSignedBytes(new Uint8Array(readFileSync(pythonTufPath(file))));
  });

  it('equal metadata.signedBytes() for every role built by the models', () => {
    for (const md of everyRole()) expectSameSignedBytes(md.toBytes());
  });

  it('equal metadata.signedBytes() with unrecognized fields at every level', () => {
    const jsonValue = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const extras = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x-${k}`),
      jsonValue,
      { maxKeys: 3 },
    );
    fc.assert(
      fc.property(extras, extras, extras, extras, (top, signed, target, meta) => {
        for (const md of everyRole()) {
          const json = md.toJSON() as Record<string, Record<string, unknown>>;
          Object.assign(json, top);
          Object.assign(json.signed as object, signed);
          const s = json.signed as Record<string, Record<string, Record<string, unknown>>>;
          for (const t of Object.values(s.targets ?? {})) Object.assign(t, target);
          for (const m of Object.values(s.meta ?? {})) Object.assign(m, meta);
          expectSameSignedBytes(new TextEncoder().encode(JSON.stringify(json)));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses what Metadata.fromBytes refuses, with the same error code', () => {
    const bytes = new TextEncoder().encode('{"signed": {"_type": "targets"}, "signatures": []}');
    expect(() => Metadata.fromBytesForVerification(bytes, 'targets')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
    );
    expect(() => Metadata.fromBytes(bytes, 'targets')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
    );
  });
});
