/**
 * The pure Uptane modules with bytes and values alone: director targets checks, image
 * agreement, manifests, the TAP 4 map, partial verification, attack naming.
 */
import { describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/index.js';
import {
  BadVersionNumberError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  UnsignedMetadataError,
  UptaneError,
} from '../../src/errors.js';
import {
  DelegatedRole,
  Delegations,
  Key,
  Metadata,
  Role,
  Root,
  TargetFile,
  Targets,
} from '../../src/models/index.js';
import {
  asUptaneError,
  checkImagesAgree,
  type EcuAssignment,
  ecuVersionReportFromJSON,
  ecuVersionReportToJSON,
  mappingFor,
  parseEnvelope,
  parseRepositoryMap,
  readDirectorTargets,
  signEnvelope,
  verifyEnvelope,
  verifyPartial,
} from '../../src/uptane/index.js';

const HASH = 'a'.repeat(64);
const expect_ = { deviceId: 'vin-1', ecus: new Map([['e1', 'hw-a']]), allEcusKnown: true };

function directorTargets(
  entries: Record<string, Record<string, string>>,
  custom: Record<string, unknown> | null = { deviceId: 'vin-1' },
): Targets {
  const targets = new Targets({ unrecognized: custom === null ? {} : { custom } });
  for (const [path, ecus] of Object.entries(entries)) {
    targets.addTarget(
      new TargetFile(
        path,
        10,
        { sha256: HASH },
        {
          ecuIdentifiers: Object.fromEntries(
            Object.entries(ecus).map(([s, hardwareId]) => [s, { hardwareId }]),
          ),
          releaseCounter: 3,
        },
      ),
    );
  }
  return targets;
}

describe('readDirectorTargets (§5.4.4.6 steps 6–8)', () => {
  const cases: Array<[string, () => Targets, string]> = [
    ['no deviceId', () => directorTargets({}, null), 'replay-for-another-device'],
    [
      'another device',
      () => directorTargets({}, { deviceId: 'vin-2' }),
      'replay-for-another-device',
    ],
    [
      'an ECU twice',
      () => directorTargets({ a: { e1: 'hw-a' }, b: { e1: 'hw-a' } }),
      'ecu-listed-twice',
    ],
    ['an unknown ECU', () => directorTargets({ a: { e9: 'hw-a' } }), 'unknown-ecu'],
    ['the wrong hardware id', () => directorTargets({ a: { e1: 'hw-b' } }), 'hardware-id-mismatch'],
    [
      'delegations',
      () => {
        const t = directorTargets({});
        t.delegations = new Delegations({
          keys: {},
          roles: [new DelegatedRole({ name: 'x', keyids: [], threshold: 1, paths: ['*'] })],
        });
        return t;
      },
      'director-delegation',
    ],
  ];
  for (const [name, make, attack] of cases) {
    it(`refuses targets with ${name} (${attack})`, () => {
      expect(() => readDirectorTargets(make(), expect_)).toThrow(
        expect.objectContaining({ attack }),
      );
    });
  }

  it('lists assignments, and a secondary skips other ECUs rather than refusing them', () => {
    const t = directorTargets({ a: { e1: 'hw-a' }, b: { e2: 'hw-b' } });
    expect(() => readDirectorTargets(t, expect_)).toThrow(
      expect.objectContaining({ attack: 'unknown-ecu' }),
    );
    const info = readDirectorTargets(t, { ...expect_, allEcusKnown: false });
    expect(info.assignments.map((a) => [a.ecuSerial, a.target.path, a.releaseCounter])).toEqual([
      ['e1', 'a', 3],
    ]);
  });
});

describe('checkImagesAgree (§5.4.4.2 step 10)', () => {
  const assignment = (releaseCounter = 3): EcuAssignment => ({
    ecuSerial: 'e1',
    hardwareId: 'hw-a',
    target: new TargetFile('a', 10, { sha256: HASH }),
    releaseCounter,
    uri: undefined,
  });
  const image = (custom: Record<string, unknown>, length = 10, hash = HASH) =>
    new TargetFile('a', length, { sha256: hash }, custom);
  const ok = { hardwareIds: ['hw-a'], releaseCounter: 3 };
  const cases: Array<[string, TargetFile | undefined, number | undefined, string]> = [
    ['no image entry', undefined, undefined, 'image-not-in-image-repository'],
    ['another length', image(ok, 11), undefined, 'image-mismatch'],
    ['another hash', image(ok, 10, 'b'.repeat(64)), undefined, 'image-mismatch'],
    [
      'another hardware id',
      image({ ...ok, hardwareIds: ['hw-b'] }),
      undefined,
      'hardware-id-mismatch',
    ],
    ['another release counter', image({ ...ok, releaseCounter: 4 }), undefined, 'rollback'],
    ['a counter below the previous', image(ok), 4, 'rollback'],
  ];
  for (const [name, imageTarget, previous, attack] of cases) {
    it(`refuses ${name} (${attack})`, () => {
      expect(() => checkImagesAgree(assignment(), imageTarget, previous)).toThrow(
        expect.objectContaining({ attack }),
      );
    });
  }
  it('accepts agreeing entries', () => {
    expect(checkImagesAgree(assignment(), image(ok), 3).path).toBe('a');
  });
});

describe('asUptaneError names the attack of TUF errors', () => {
  it.each([
    [new ExpiredMetadataError('x'), 'freeze'],
    [new LengthOrHashMismatchError('x'), 'mix-and-match'],
    [new BadVersionNumberError('lower (rollback attack)'), 'rollback'],
    [new BadVersionNumberError('expected version 3'), 'mix-and-match'],
    [new UnsignedMetadataError('x'), 'arbitrary-software'],
  ])('%s → %s', (error, attack) => {
    expect((asUptaneError('director', error) as UptaneError).attack).toBe(attack);
  });
});

describe('manifests', () => {
  it('round-trips an ECU version report and verifies only under the signing key', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    const other = await InMemorySigner.generate('ed25519');
    const report = {
      ecuSerial: 'e1',
      installedImage: { filepath: 'a.img', length: 10, hashes: { sha256: HASH } },
      attacksDetected: ['freeze', 'rollback'],
      reportCounter: 4,
      time: new Date('2026-01-02T03:04:05Z'),
    };
    const envelope = parseEnvelope(
      new TextEncoder().encode(
        JSON.stringify(await signEnvelope(ecuVersionReportToJSON(report), signer)),
      ),
    );
    expect(ecuVersionReportFromJSON(envelope.signed)).toEqual(report);
    verifyEnvelope(envelope, Key.fromPublicKeyData(signer.publicKey), 'report');
    expect(() =>
      verifyEnvelope(envelope, Key.fromPublicKeyData(other.publicKey), 'report'),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_UPTANE_FORGED_MANIFEST' }));
    // A changed field breaks the signature.
    (envelope.signed as { report_counter: number }).report_counter = 99;
    const tampered = parseEnvelope({
      signed: envelope.signed,
      signatures: envelope.signatures.map((s) => s.toJSON()),
    });
    expect(() =>
      verifyEnvelope(tampered, Key.fromPublicKeyData(signer.publicKey), 'report'),
    ).toThrow(UptaneError);
  });
});

describe('TAP 4 repository map', () => {
  const map = (mapping: unknown) =>
    new TextEncoder().encode(
      JSON.stringify({ repositories: { director: ['d/'], image: ['i/'] }, mapping }),
    );
  it('parses the standard map; * crosses directories', () => {
    const parsed = parseRepositoryMap(
      map([{ paths: ['*'], repositories: ['director', 'image'], threshold: 2, terminating: true }]),
    );
    expect(mappingFor(parsed, 'brake/fw-2.img')?.threshold).toBe(2);
  });
  it.each([
    [[{ paths: ['*'], repositories: ['image'], threshold: 1 }]],
    [[{ paths: ['*'], repositories: ['director', 'image'], threshold: 1 }]],
    [[{ paths: ['*'], repositories: ['director', 'other'], threshold: 2 }]],
  ])('refuses a mapping one repository could satisfy alone: %j', (mapping) => {
    expect(() => parseRepositoryMap(map(mapping))).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
    );
  });
  it('a path no mapping covers has no mapping', () => {
    const parsed = parseRepositoryMap(
      map([{ paths: ['brake/*'], repositories: ['director', 'image'], threshold: 2 }]),
    );
    expect(mappingFor(parsed, 'door/x.img')).toBeUndefined();
  });
});

describe('verifyPartial (§5.4.4.1)', () => {
  async function director() {
    const key = await InMemorySigner.generate('ed25519');
    const root = new Root({ expires: new Date('2030-01-01T00:00:00Z'), consistentSnapshot: false });
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      root.addKey(Key.fromPublicKeyData(key.publicKey), role);
    }
    root.roles.root = new Role(root.roles.root.keyids, 1);
    const rootMd = new Metadata(root);
    await rootMd.sign(key);
    const sign = async (version: number, expires: string, entries = { a: { e1: 'hw-a' } }) => {
      const t = directorTargets(entries);
      t.version = version;
      t.expires = new Date(expires);
      const md = new Metadata(t);
      await md.sign(key);
      return md.toBytes();
    };
    return { root: rootMd.toBytes(), sign };
  }
  const base = { deviceId: 'vin-1', ecu: { ecuSerial: 'e1', hardwareId: 'hw-a' }, newRoots: [] };
  const now = new Date('2027-01-01T00:00:00Z');

  it('accepts signed, fresh targets and finds the ECU’s assignment', async () => {
    const d = await director();
    const r = verifyPartial({
      ...base,
      trustedRoot: d.root,
      targets: await d.sign(2, '2028-01-01T00:00:00Z'),
      referenceTime: now,
    });
    expect(r.assignment?.target.path).toBe('a');
  });
  it('refuses expired targets (freeze) and older targets (rollback)', async () => {
    const d = await director();
    const expired = await d.sign(2, '2026-06-01T00:00:00Z');
    expect(() =>
      verifyPartial({ ...base, trustedRoot: d.root, targets: expired, referenceTime: now }),
    ).toThrow(expect.objectContaining({ attack: 'freeze' }));
    const v1 = await d.sign(1, '2028-01-01T00:00:00Z');
    const v2 = await d.sign(2, '2028-01-01T00:00:00Z');
    expect(() =>
      verifyPartial({
        ...base,
        trustedRoot: d.root,
        targets: v1,
        previousTargets: v2,
        referenceTime: now,
      }),
    ).toThrow(expect.objectContaining({ attack: 'rollback' }));
  });
  it('refuses a release counter below the installed one', async () => {
    const d = await director();
    const targets = await d.sign(2, '2028-01-01T00:00:00Z');
    expect(() =>
      verifyPartial({
        ...base,
        trustedRoot: d.root,
        targets,
        installedReleaseCounter: 4,
        referenceTime: now,
      }),
    ).toThrow(expect.objectContaining({ attack: 'rollback' }));
  });
});
