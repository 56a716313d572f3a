/**
 * Root rotation chains as data (TUF 5.3): each row publishes a sequence of roots, each with its
 * own root keys, threshold and signers; a fresh device that trusts version 1 then refreshes.
 * Every new root must be signed by a threshold of the previous root's keys *and* of its own,
 * have version exactly N+1, and only the final root must be unexpired. On failure the device
 * keeps the last root that verified, byte for byte.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Signer } from '../../../src/crypto/index.js';
import { type Key, Metadata, Signature } from '../../../src/models/index.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { Device, daysAgo, expectCode } from '../../helpers/client-harness.js';

/** One published root: key indices, threshold, signing key indices, and how it goes wrong. */
interface RootVersion {
  keys: number[];
  threshold: number;
  sigs: number[];
  /** The expected error code of the refresh when this is the first bad root. */
  error?: string;
  expired?: boolean;
  /** Publish under this version number instead of N+1. */
  version?: number;
  /** Flip a byte in one signature. */
  corruptSignatureOf?: number;
}

const UNSIGNED = 'ERR_TUF_UNSIGNED';

// biome-ignore format: one row per line reads as the table it is
const rootRotationCases: Record<string, RootVersion[]> = {
  '1-of-1 key rotation': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [2], threshold: 1, sigs: [2, 1] },
    { keys: [2], threshold: 1, sigs: [2] },
  ],
  '1-of-1 key rotation, unused signatures': [
    { keys: [1], threshold: 1, sigs: [3, 1, 4] },
    { keys: [2], threshold: 1, sigs: [3, 2, 1, 4] },
    { keys: [2], threshold: 1, sigs: [3, 2, 4] },
  ],
  '1-of-1 key rotation fails: not signed with the old key': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [2], threshold: 1, sigs: [2, 3, 4], error: UNSIGNED },
  ],
  '1-of-1 key rotation fails: not signed with the new key': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [2], threshold: 1, sigs: [1, 3, 4], error: UNSIGNED },
  ],
  '3-of-5, different key combinations': [
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 4, 1] },
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 1, 3] },
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 1, 3] },
  ],
  '3-of-5, one key rotated': [
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
    { keys: [0, 1, 3, 4, 5], threshold: 3, sigs: [0, 4, 1] },
  ],
  '3-of-5, one key rotated fails: not signed by 3 new keys': [
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
    { keys: [0, 1, 3, 4, 5], threshold: 3, sigs: [0, 2, 4], error: UNSIGNED },
  ],
  '3-of-5, one key rotated fails: not signed by 3 old keys': [
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
    { keys: [0, 1, 3, 4, 5], threshold: 3, sigs: [0, 4, 5], error: UNSIGNED },
  ],
  '3-of-5, all keys rotated through an intermediate root': [
    { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
    { keys: [5, 6, 7, 8, 9], threshold: 3, sigs: [0, 2, 4, 5, 6, 7] },
    { keys: [5, 6, 7, 8, 9], threshold: 3, sigs: [5, 6, 7] },
  ],
  'threshold raised from 1-of-3 to 2-of-3': [
    { keys: [1, 2, 3], threshold: 1, sigs: [1] },
    { keys: [1, 2, 3], threshold: 2, sigs: [1, 2] },
  ],
  'threshold raised to 2-of-3 fails: new threshold not reached': [
    { keys: [1, 2, 3], threshold: 1, sigs: [1] },
    { keys: [1, 2, 3], threshold: 2, sigs: [2], error: UNSIGNED },
  ],
  'threshold lowered from 2-of-3 to 1-of-3': [
    { keys: [1, 2, 3], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2, 3], threshold: 1, sigs: [1, 2] },
    { keys: [1, 2, 3], threshold: 1, sigs: [1] },
  ],
  'threshold lowered to 1-of-3 fails: old threshold not reached': [
    { keys: [1, 2, 3], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2, 3], threshold: 1, sigs: [1], error: UNSIGNED },
  ],
  'key added, threshold 1-of-1 to 2-of-2': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [1, 2], threshold: 2, sigs: [1, 2] },
  ],
  'key removed, 2-of-3 to 2-of-2': [
    { keys: [1, 2, 3], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2], threshold: 2, sigs: [1, 2] },
  ],
  'removed key can no longer sign': [
    { keys: [1, 2, 3], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2], threshold: 1, sigs: [1, 2] },
    { keys: [1, 2], threshold: 1, sigs: [3], error: UNSIGNED },
  ],
  'rotation to a root with the same keys': [
    { keys: [1, 2], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2], threshold: 2, sigs: [1, 2] },
    { keys: [1, 2], threshold: 2, sigs: [2, 1] },
  ],
  'expired intermediate root is fine': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [1], threshold: 1, sigs: [1], expired: true },
    { keys: [1], threshold: 1, sigs: [1] },
  ],
  'expired final root is refused, but trusted for the next rotation': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [1], threshold: 1, sigs: [1], expired: true, error: 'ERR_TUF_EXPIRED' },
  ],
  'N+2 skip is refused': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [1], threshold: 1, sigs: [1], version: 3, error: 'ERR_TUF_BAD_VERSION' },
  ],
  'same version again is refused': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [1], threshold: 1, sigs: [1], version: 1, error: 'ERR_TUF_BAD_VERSION' },
  ],
  'bad signature by the new root key': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [2], threshold: 1, sigs: [1, 2], corruptSignatureOf: 2, error: UNSIGNED },
  ],
  'bad signature by the old root key': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [2], threshold: 1, sigs: [1, 2], corruptSignatureOf: 1, error: UNSIGNED },
  ],
  'badly signed intermediate root stops the chain': [
    { keys: [1], threshold: 1, sigs: [1] },
    { keys: [1], threshold: 1, sigs: [3], error: UNSIGNED },
    { keys: [1], threshold: 1, sigs: [1] },
  ],
};

const signers: Signer[] = [];
const keys: Key[] = [];

beforeAll(async () => {
  const sim = await RepositorySimulator.create();
  for (let i = 0; i < 10; i++) {
    const pair = await sim.createKey();
    signers.push(pair.signer);
    keys.push(pair.key);
  }
});

/** Publish `versions` as roots 1..n (root 1 is what the device trusts). */
async function publishChain(versions: RootVersion[]): Promise<RepositorySimulator> {
  const sim = await RepositorySimulator.create();
  sim.signedRoots.length = 0;
  sim.root.version = 0;
  for (const v of versions) {
    for (const keyid of [...sim.root.roles.root.keyids]) sim.root.revokeKey(keyid, 'root');
    for (const i of v.keys) sim.root.addKey(keys[i]!, 'root');
    sim.root.roles.root.threshold = v.threshold;
    sim.root.expires = v.expired === true ? daysAgo(1) : sim.safeExpiry;
    sim.root.version = v.version ?? sim.root.version + 1;
    const bytes = await sim.publishRoot({ signers: v.sigs.map((i) => signers[i]!) });
    if (v.corruptSignatureOf !== undefined) {
      const md = Metadata.fromBytes(bytes, 'root');
      const keyid = signers[v.corruptSignatureOf]!.keyid;
      const sig = md.signatures.get(keyid)!.sig;
      md.signatures.set(
        keyid,
        new Signature(keyid, `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`),
      );
      sim.signedRoots[sim.signedRoots.length - 1] = md.toBytes();
    }
  }
  return sim;
}

describe('root rotation chains', () => {
  for (const [name, versions] of Object.entries(rootRotationCases)) {
    it(name, async () => {
      const sim = await publishChain(versions);
      const device = await Device.create(sim);
      try {
        const failing = versions.findIndex((v) => v.error !== undefined);
        if (failing < 0) {
          await device.refresh();
          expect(device.memoryStore.files.get('root')).toEqual(sim.signedRoots.at(-1));
        } else {
          await expectCode(device.refresh(), versions[failing]!.error!);
          // An expired final root still verified: it is kept (TUF 5.3.10 checks expiry after 5.3.8).
          const kept = versions[failing]!.error === 'ERR_TUF_EXPIRED' ? failing : failing - 1;
          expect(device.memoryStore.files.get('root')).toEqual(sim.signedRoots[kept]);
        }
      } finally {
        await device.dispose();
      }
    });
  }

  it('stops after maxRootRotations new roots and trusts the last one applied', async () => {
    const sim = await RepositorySimulator.create();
    for (let v = 2; v <= 8; v++) {
      sim.root.version = v;
      await sim.publishRoot();
    }
    const device = await Device.create(sim, { config: { maxRootRotations: 3 } });
    try {
      await device.refresh();
      expect(device.memoryStore.version('root')).toBe(4);
      expect(sim.requestedMetadata().filter((n) => n.endsWith('root.json'))).toEqual([
        '2.root.json',
        '3.root.json',
        '4.root.json',
      ]);
    } finally {
      await device.dispose();
    }
  });
});

// biome-ignore format: one row per line reads as the table it is
const nonRootCases: Record<string, RootVersion> = {
  '1-of-1 key rotation': { keys: [2], threshold: 1, sigs: [2] },
  '1-of-1 key rotation, unused signatures': { keys: [1], threshold: 1, sigs: [3, 1, 4] },
  '1-of-1 key rotation fails: not signed with the new key': { keys: [2], threshold: 1, sigs: [1, 3, 4], error: UNSIGNED },
  '3-of-5 fails: not signed by 3 listed keys': { keys: [0, 1, 3, 4, 5], threshold: 3, sigs: [0, 2, 4], error: UNSIGNED },
  '3-of-5 fails: 2 signatures': { keys: [0, 1, 3, 4, 5], threshold: 3, sigs: [0, 4], error: UNSIGNED },
  '3-of-5, first combination': { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
  '3-of-5, second combination': { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 4, 1] },
  '3-of-5, third combination': { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [1, 2, 3] },
};

describe('timestamp, snapshot and targets key rotation', () => {
  for (const [name, v] of Object.entries(nonRootCases)) {
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      it(`${role}: ${name}`, async () => {
        const sim = await RepositorySimulator.create();
        for (const keyid of [...sim.root.roles[role].keyids]) sim.root.revokeKey(keyid, role);
        for (const i of v.keys) sim.root.addKey(keys[i]!, role);
        sim.root.roles[role].threshold = v.threshold;
        sim.clearSigners(role);
        for (const i of v.sigs) sim.addSigner(role, signers[i]!);
        sim.root.version += 1;
        await sim.publishRoot();
        const device = await Device.create(sim);
        try {
          if (v.error === undefined) {
            await device.refresh();
            expect(device.memoryStore.files.get(role)).toEqual(await sim.fetchMetadata(role));
          } else {
            await expectCode(device.refresh(), v.error);
            expect(device.memoryStore.roles()).not.toContain(role);
          }
        } finally {
          await device.dispose();
        }
      });
    }
  }
});
