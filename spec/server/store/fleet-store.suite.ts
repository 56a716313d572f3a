/**
 * The one behaviour suite every `FleetStore` backend passes (SQLite and PostgreSQL run it from
 * their own spec files with a {@link StoreHarness}). This file: harness, fixtures, devices,
 * queries and pagination, SQL injection, and the director inventory; the other parts are in
 * `fleet-store-people.suite.ts` and `fleet-store-audit.suite.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type {
  AuditInput,
  DeviceQuery,
  DeviceSortField,
  FleetDevice,
  FleetStore,
} from '../../../src/server/store/fleet-store.js';
import type { SqlDatabase, SqlValue } from '../../../src/server/store/sql-database.js';
import { auditSuite } from './fleet-store-audit.suite.js';
import { inventorySuite } from './fleet-store-inventory.suite.js';
import { peopleSuite } from './fleet-store-people.suite.js';

/** What a backend's spec file provides to the shared suite. */
export interface StoreHarness {
  backend: 'sqlite' | 'postgres';
  /** Empty the database and open a migrated store on it. */
  fresh(): Promise<FleetStore>;
  /** Open another store on the current database (as a second server process would). */
  reopen(): Promise<FleetStore>;
  /** The raw database under the current store (migration tests). */
  database(): Promise<SqlDatabase>;
  /** Raw SQL on the current database (`?` placeholders): someone with database access. */
  sql(text: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
  /** Close what the last test opened. */
  closeAll(): Promise<void>;
}

export const T0 = '2026-12-04T18:00:00.000Z';

/** T0 plus `minutes`. */
export function at(minutes: number): string {
  return new Date(Date.parse(T0) + minutes * 60_000).toISOString();
}

export function device(deviceId: string, over: Partial<FleetDevice> = {}): FleetDevice {
  return {
    deviceId,
    status: 'accepted',
    provisioning: 'device-key',
    hardwareIds: [],
    addresses: [],
    attributes: {},
    createdAt: T0,
    ...over,
  };
}

export function audit(action: string, subject: string, over: Partial<AuditInput> = {}): AuditInput {
  return { actor: 'user:ann', action, subject, at: T0, from: '127.0.0.1', ...over };
}

/** Strings that break naively built SQL, LIKE patterns or placeholder rewriting. */
export const INJECTIONS = [
  "' OR '1'='1",
  "x'; DROP TABLE devices; --",
  '" OR ""="',
  "') UNION SELECT token_id, sha256 FROM tokens --",
  '1) OR (1=1',
  '%',
  '_',
  '\\',
  '?',
  '$1',
  ':name',
  '*/ SELECT 1 /*',
];

/** Every page of `query`, following `nextCursor`; `between` runs after each page. */
export async function allPages(
  store: FleetStore,
  query: DeviceQuery,
  between: (page: number) => Promise<void> = async () => {},
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await store.listDevices({ ...query, ...(cursor ? { cursor } : {}) });
    ids.push(...result.items.map((d) => d.deviceId));
    cursor = result.nextCursor;
    if (cursor === undefined) return ids;
    await between(page);
  }
  throw new Error('more than 100 pages');
}

const SORT_FIELDS: DeviceSortField[] = ['deviceId', 'lastSeen', 'firstSeen', 'createdAt', 'status'];

function sortKey(d: FleetDevice, field: DeviceSortField): string {
  const value = d[field];
  return typeof value === 'string' ? value : '';
}

/** Register the whole suite for one backend. */
export function fleetStoreSuite(harness: StoreHarness): void {
  let store: FleetStore;
  const open = async () => (store = await harness.fresh());
  const ids = async (query: DeviceQuery) =>
    (await store.listDevices(query)).items.map((d) => d.deviceId);
  afterEach(async () => harness.closeAll());

  describe('devices', () => {
    it('creates, reads, updates and records contact', async () => {
      await open();
      const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'ab'.repeat(32) } };
      await store.createDevice(
        device('vin-1', {
          status: 'pending',
          provisioning: 'manual',
          publicKey: key,
          model: 'gw-200',
          hardwareRevision: '3',
          hardwareIds: ['gateway', 'door'],
          attributes: { site: 'oslo', 'rack.row': 'b-2' },
          certificateSha256: 'c'.repeat(64),
        }),
      );
      const read = await store.getDevice('vin-1');
      expect(read).toEqual({
        ...device('vin-1', {
          status: 'pending',
          provisioning: 'manual',
          publicKey: key,
          model: 'gw-200',
          hardwareRevision: '3',
          hardwareIds: ['gateway', 'door'],
          attributes: { site: 'oslo', 'rack.row': 'b-2' },
          certificateSha256: 'c'.repeat(64),
        }),
        ecus: [],
      });
      expect(await store.getDevice('vin-2')).toBeUndefined();
      expect((await store.findDeviceByCertificate('c'.repeat(64)))?.deviceId).toBe('vin-1');
      expect(await store.findDeviceByCertificate('d'.repeat(64))).toBeUndefined();

      const updated = await store.updateDevice('vin-1', {
        status: 'accepted',
        model: undefined,
        attributes: { site: 'bergen' },
      });
      expect(updated.status).toBe('accepted');
      expect(updated.model).toBeUndefined();
      expect(updated.attributes).toEqual({ site: 'bergen' });
      expect((await store.getDevice('vin-1'))?.attributes).toEqual({ site: 'bergen' });
      // The attribute index follows the row: the old value no longer matches.
      expect((await store.listDevices({ attributes: { site: 'oslo' } })).items).toEqual([]);

      await store.recordContact('vin-1', at(5), '10.0.0.1');
      await store.recordContact('vin-1', at(9), '10.0.0.2');
      await store.recordContact('vin-1', at(12), '10.0.0.1');
      const seen = await store.getDevice('vin-1');
      expect(seen?.firstSeen).toBe(at(5));
      expect(seen?.lastSeen).toBe(at(12));
      expect(seen?.addresses).toEqual(['10.0.0.1', '10.0.0.2']);
    });

    it('keeps at most 8 addresses, most recent first', async () => {
      await open();
      await store.createDevice(device('vin-1'));
      for (let i = 0; i < 12; i++) await store.recordContact('vin-1', at(i), `10.0.0.${i}`);
      expect((await store.getDevice('vin-1'))?.addresses).toEqual(
        [11, 10, 9, 8, 7, 6, 5, 4].map((i) => `10.0.0.${i}`),
      );
    });

    it('refuses a duplicate id (conflict) and unknown devices on write (not found)', async () => {
      await open();
      await store.createDevice(device('vin-1', { model: 'first' }));
      await expect(store.createDevice(device('vin-1', { model: 'second' }))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_CONFLICT',
      });
      expect((await store.getDevice('vin-1'))?.model).toBe('first');
      await expect(store.updateDevice('ghost', { model: 'x' })).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_NOT_FOUND',
      });
      await expect(store.recordContact('ghost', T0)).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_NOT_FOUND',
      });
    });

    it('validates every field and writes nothing on a bad one', async () => {
      await open();
      const bad: [Partial<FleetDevice>, string][] = [
        [{ status: 'gone' as FleetDevice['status'] }, 'BAD_REQUEST'],
        [{ provisioning: 'psk' as FleetDevice['provisioning'] }, 'BAD_REQUEST'],
        [{ attributes: { 'bad name': 'x' } }, 'BAD_REQUEST'],
        [{ attributes: { ["x' OR '1'='1"]: 'x' } }, 'BAD_REQUEST'],
        [{ attributes: { ['n'.repeat(65)]: 'x' } }, 'BAD_REQUEST'],
        [{ attributes: { site: 'v'.repeat(257) } }, 'BAD_REQUEST'],
        [{ addresses: Array.from({ length: 9 }, (_, i) => `10.0.0.${i}`) }, 'BAD_REQUEST'],
        [{ createdAt: 'yesterday' }, 'BAD_REQUEST'],
        [{ certificateSha256: 'not-hex' }, 'BAD_REQUEST'],
        [{ model: 'a\u0000b' }, 'BAD_REQUEST'],
        [{ deviceId: 'd'.repeat(257) }, 'BAD_REQUEST'],
        [{ publicKey: { blob: 'k'.repeat(70_000) } as never }, 'TOO_LARGE'],
      ];
      for (const [over, code] of bad) {
        await expect(
          store.createDevice(device('vin-bad', over), audit('device.create', 'device:vin-bad')),
          JSON.stringify(over).slice(0, 60),
        ).rejects.toMatchObject({ code: `ERR_TUF_FLEET_${code}` });
      }
      expect((await store.listDevices({})).items).toEqual([]);
      expect(await store.listAudit()).toEqual([]);
      await store.createDevice(device('vin-1'));
      await expect(
        store.updateDevice('vin-1', { attributes: { 'no spaces': 'x' } }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      expect((await store.getDevice('vin-1'))?.attributes).toEqual({});
    });
  });

  describe('device queries', () => {
    async function fleet(): Promise<void> {
      await open();
      const rows: FleetDevice[] = [
        device('vin-1', {
          model: 'gw-200',
          hardwareRevision: '3',
          attributes: { site: 'oslo', ring: 'canary' },
          lastSeen: at(10),
          firstSeen: at(1),
        }),
        device('vin-2', {
          model: 'gw-200',
          hardwareRevision: '4',
          attributes: { site: 'bergen' },
          lastSeen: at(20),
          firstSeen: at(2),
          status: 'pending',
        }),
        device('vin-3', {
          model: 'gw-300',
          hardwareIds: ['door'],
          attributes: { site: 'oslo' },
          lastSeen: at(30),
          firstSeen: at(3),
        }),
        device('truck-4', { model: 'tr-1', status: 'decommissioned', createdAt: at(-5) }),
      ];
      for (const d of rows) await store.createDevice(d);
      await store.inventory.saveDevice({
        deviceId: 'vin-1',
        primaryEcuSerial: 'gw-1',
        ecus: [
          {
            ecuSerial: 'gw-1',
            hardwareId: 'gateway',
            primary: true,
            publicKey: { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00' } },
            keyid: 'k1',
            installedImage: { filepath: 'fw/gw-1.2.0.img', length: 10, hashes: { sha256: 'a' } },
          },
        ],
      });
      await store.inventory.saveDevice({
        deviceId: 'vin-2',
        primaryEcuSerial: 'gw-2',
        ecus: [
          {
            ecuSerial: 'gw-2',
            hardwareId: 'gateway',
            primary: true,
            publicKey: { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00' } },
            keyid: 'k2',
            installedImage: { filepath: 'fw/gw-1.3.0.img', length: 11, hashes: { sha256: 'b' } },
          },
        ],
      });
    }

    it('filters by each condition, and by several at once (AND)', async () => {
      await fleet();
      expect(await ids({})).toEqual(['truck-4', 'vin-1', 'vin-2', 'vin-3']);
      expect(await ids({ status: ['pending', 'decommissioned'] })).toEqual(['truck-4', 'vin-2']);
      expect(await ids({ model: 'gw-200' })).toEqual(['vin-1', 'vin-2']);
      expect(await ids({ hardwareRevision: '4' })).toEqual(['vin-2']);
      expect(await ids({ hardwareId: 'gateway' })).toEqual(['vin-1', 'vin-2']);
      expect(await ids({ hardwareId: 'door' })).toEqual(['vin-3']);
      expect(await ids({ attributes: { site: 'oslo' } })).toEqual(['vin-1', 'vin-3']);
      expect(await ids({ attributes: { site: 'oslo', ring: 'canary' } })).toEqual(['vin-1']);
      expect(await ids({ installedTarget: 'fw/gw-1.2.0.img' })).toEqual(['vin-1']);
      expect(await ids({ installedTargetPrefix: 'fw/gw-1.' })).toEqual(['vin-1', 'vin-2']);
      expect(await ids({ installedTargetPrefix: 'fw/gw-1.3' })).toEqual(['vin-2']);
      expect(await ids({ installedTargetPrefix: 'fw/gw-1_' })).toEqual([]);
      expect(await ids({ lastSeenFrom: at(20) })).toEqual(['vin-2', 'vin-3']);
      expect(await ids({ lastSeenBefore: at(20) })).toEqual(['vin-1']);
      expect(await ids({ lastSeenFrom: at(10), lastSeenBefore: at(30) })).toEqual([
        'vin-1',
        'vin-2',
      ]);
      expect(await ids({ deviceIdContains: 'in-' })).toEqual(['vin-1', 'vin-2', 'vin-3']);
      expect(await ids({ model: 'gw-200', attributes: { site: 'oslo' } })).toEqual(['vin-1']);
      // Device details carry the ECU rows extracted from the director's record.
      const [vin1] = (await store.listDevices({ installedTarget: 'fw/gw-1.2.0.img' })).items;
      expect(vin1?.ecus).toEqual([
        {
          deviceId: 'vin-1',
          ecuSerial: 'gw-1',
          hardwareId: 'gateway',
          primary: true,
          installedTarget: 'fw/gw-1.2.0.img',
          installedLength: 10,
          installedSha256: 'a',
        },
      ]);
    });

    it('sorts by each field in both directions, ties broken by device id', async () => {
      await fleet();
      const all = (await store.listDevices({})).items;
      for (const field of SORT_FIELDS) {
        for (const direction of ['asc', 'desc'] as const) {
          const expected = [...all]
            .sort((a, b) => {
              const ka = sortKey(a, field);
              const kb = sortKey(b, field);
              const c = ka < kb ? -1 : ka > kb ? 1 : a.deviceId < b.deviceId ? -1 : 1;
              return direction === 'asc' ? c : -c;
            })
            .map((d) => d.deviceId);
          expect(await ids({ sort: { field, direction } }), `${field}:${direction}`).toEqual(
            expected,
          );
          expect(
            await allPages(store, { sort: { field, direction }, limit: 1 }),
            `${field}:${direction} paged`,
          ).toEqual(expected);
        }
      }
    });

    it('refuses unknown sort fields, directions, statuses and bad limits', async () => {
      await fleet();
      const bad: DeviceQuery[] = [
        { sort: { field: 'device_id; DROP TABLE devices' as DeviceSortField, direction: 'asc' } },
        { sort: { field: 'deviceId', direction: 'asc; --' as 'asc' } },
        { status: ["accepted' OR '1'='1" as 'accepted'] },
        { limit: 0 },
        { limit: 1001 },
        { limit: 2.5 },
        { lastSeenFrom: "2026' OR '1'='1" },
        { attributes: { "site' OR '1'='1": 'x' } },
      ];
      for (const query of bad) {
        await expect(store.listDevices(query), JSON.stringify(query)).rejects.toMatchObject({
          code: 'ERR_TUF_FLEET_BAD_REQUEST',
        });
      }
    });

    it('pages stably while devices are inserted between pages, for every sort', async () => {
      for (const field of SORT_FIELDS) {
        for (const direction of ['asc', 'desc'] as const) {
          await harness.closeAll();
          await open();
          const statuses = ['pending', 'accepted', 'rejected'] as const;
          for (let i = 0; i < 23; i++) {
            await store.createDevice(
              device(`d-${String(i).padStart(2, '0')}`, {
                status: statuses[i % 3],
                createdAt: at(i % 5),
                ...(i % 4 === 0 ? {} : { lastSeen: at(100 - (i % 7)), firstSeen: at(i % 6) }),
              }),
            );
          }
          const original = (await store.listDevices({ limit: 1000 })).items.map((d) => d.deviceId);
          let n = 0;
          const seen = await allPages(store, { sort: { field, direction }, limit: 5 }, async () => {
            // One device sorting first and one sorting last in ascending order of every field.
            await store.createDevice(
              device(`a-new-${n}`, { status: 'accepted', createdAt: at(-100) }),
            );
            await store.createDevice(
              device(`z-new-${n++}`, {
                status: 'rejected',
                createdAt: at(500),
                lastSeen: at(500),
                firstSeen: at(500),
              }),
            );
          });
          const label = `${field}:${direction}`;
          expect(new Set(seen).size, `${label}: no device twice`).toBe(seen.length);
          for (const id of original) expect(seen, `${label}: ${id} on a page`).toContain(id);
          const latest = (await store.listDevices({ limit: 1000 })).items;
          const byId = new Map(latest.map((d) => [d.deviceId, d]));
          const keys = seen.map(
            (id) => `${sortKey(byId.get(id) as FleetDevice, field)}\u0000${id}`,
          );
          const sorted = [...keys].sort();
          expect(keys, `${label}: in order`).toEqual(
            direction === 'asc' ? sorted : sorted.reverse(),
          );
          // Inserted rows that sort after the cursor appear; those before it never do.
          if (direction === 'asc' && field !== 'status') {
            expect(seen.filter((id) => id.startsWith('a-new'))).toEqual([]);
            expect(seen.filter((id) => id.startsWith('z-new')).length).toBeGreaterThan(0);
          }
        }
      }
    });

    it('refuses a tampered or foreign cursor', async () => {
      await fleet();
      const page = await store.listDevices({
        limit: 1,
        sort: { field: 'lastSeen', direction: 'asc' },
      });
      const cursor = page.nextCursor as string;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const tampered = [
        'not a cursor!',
        `${cursor}$`,
        Buffer.from('not json').toString('base64url'),
        b64([1, 2]),
        b64({ f: 'lastSeen', d: 'asc', k: 5, i: 'vin-1' }),
        b64({ f: 'lastSeen', d: 'asc', k: 'x', i: 'i'.repeat(300) }),
      ];
      for (const bad of tampered) {
        await expect(
          store.listDevices({
            limit: 1,
            sort: { field: 'lastSeen', direction: 'asc' },
            cursor: bad,
          }),
          bad,
        ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      }
      // A cursor of another sort is refused, not silently misapplied.
      await expect(store.listDevices({ limit: 1, cursor })).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_BAD_REQUEST',
      });
    });

    it('exports every matching device across internal pages', async () => {
      await open();
      for (let i = 0; i < 1203; i++) {
        await store.createDevice(
          device(`e-${String(i).padStart(4, '0')}`, { model: i % 2 ? 'odd' : 'even' }),
        );
      }
      const exported: string[] = [];
      for await (const d of store.exportDevices({ model: 'odd' })) exported.push(d.deviceId);
      expect(exported.length).toBe(601);
      expect(new Set(exported).size).toBe(601);
    });
  });

  describe('SQL injection', () => {
    it('stores injection strings literally and matches them only literally', async () => {
      await open();
      await store.createDevice(device('plain-a', { model: 'm', attributes: { note: 'n' } }));
      await store.createDevice(device('plain-b', { model: 'm', attributes: { note: 'n' } }));
      for (const [i, text] of INJECTIONS.entries()) {
        const id = `inj-${i}-${text}`;
        await store.createDevice(
          device(id, {
            model: text,
            hardwareRevision: text,
            hardwareIds: [text],
            attributes: { note: text },
          }),
        );
        await store.inventory.saveDevice({
          deviceId: id,
          primaryEcuSerial: text,
          ecus: [
            {
              ecuSerial: text,
              hardwareId: `hw-${text}`,
              primary: true,
              publicKey: { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00' } },
              keyid: 'k',
              installedImage: { filepath: `fw/${text}`, length: 1, hashes: { sha256: text } },
            },
          ],
        });
      }
      const allIds = (await store.listDevices({ limit: 1000 })).items.map((d) => d.deviceId);
      expect(allIds.length).toBe(INJECTIONS.length + 2);
      for (const [i, text] of INJECTIONS.entries()) {
        const id = `inj-${i}-${text}`;
        const one = [id];
        const stored = await store.getDevice(id);
        expect(stored?.model).toBe(text);
        expect(stored?.attributes).toEqual({ note: text });
        expect(stored?.ecus[0]?.ecuSerial).toBe(text);
        expect(await ids({ model: text }), `model ${text}`).toEqual(one);
        expect(await ids({ hardwareRevision: text }), `revision ${text}`).toEqual(one);
        expect(await ids({ hardwareId: text }), `hardwareId ${text}`).toEqual(one);
        expect(await ids({ hardwareId: `hw-${text}` }), `ecu hardwareId ${text}`).toEqual(one);
        expect(await ids({ attributes: { note: text } }), `attribute ${text}`).toEqual(one);
        expect(await ids({ installedTarget: `fw/${text}` }), `installed ${text}`).toEqual(one);
        expect(await ids({ installedTargetPrefix: `fw/${text}` }), `prefix ${text}`).toEqual(
          allIds.filter(
            (other) =>
              other.startsWith('inj-') &&
              `fw/${other.replace(/^inj-\d+-/, '')}`.startsWith(`fw/${text}`),
          ),
        );
        expect(await ids({ deviceIdContains: text }), `contains ${text}`).toEqual(
          allIds.filter((other) => other.includes(text)),
        );
      }
      // Nothing was dropped or rewritten.
      expect((await store.listDevices({ limit: 1000 })).items.length).toBe(INJECTIONS.length + 2);
      expect(await ids({ attributes: { note: 'n' } })).toEqual(['plain-a', 'plain-b']);
    });
  });

  inventorySuite(harness, () => store, open);
  peopleSuite(harness, () => store, open);
  auditSuite(harness, () => store, open);
}
