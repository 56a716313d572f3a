/**
 * The Uptane director's `InventoryStore` on the fleet store's database, so a `Director` runs on
 * the fleet server's SQLite or PostgreSQL: director roots as bytes, each device record as JSON
 * (exactly as the director wrote it), and — written in the same transaction — one queryable row
 * per ECU (serial, hardware id, primary, installed image path/length/sha256, the current
 * assignment's target and correlation id), which device queries (`installedTarget`,
 * `installedTargetPrefix`, `hardwareId`) and device details (`ecus`) read.
 *
 * A director record needs no fleet device row and a fleet device none of these: the director
 * may know a device before it first contacts the server, and the other way round.
 *
 * Each method is one transaction; safe for concurrent use (the director serializes its own
 * read-modify-write sequences).
 *
 * @module
 */
import { FleetError } from '../../errors.js';
import type { DeviceRecord, InventoryStore } from '../../uptane/director/inventory.js';
import { type SqlDatabase, storeError } from './sql-database.js';
import { badRequest, checkText, jsonText, LIMITS } from './validation.js';

/** One ECU row of a director record. */
function ecuRows(record: DeviceRecord): (string | number | null)[][] {
  const assigned = new Map((record.assignment?.images ?? []).map((i) => [i.ecuSerial, i]));
  return record.ecus.map((ecu) => {
    const image = ecu.installedImage;
    const assignment = assigned.get(ecu.ecuSerial);
    return [
      record.deviceId,
      checkText(ecu.ecuSerial, 'ecuSerial', LIMITS.id),
      checkText(ecu.hardwareId, 'hardwareId', LIMITS.shortText),
      ecu.primary ? 1 : 0,
      image === undefined ? null : checkText(image.filepath, 'installed filepath', LIMITS.path),
      image === undefined ? null : image.length,
      image?.hashes.sha256 ?? null,
      assignment === undefined ? null : assignment.filepath,
      assignment === undefined ? null : (record.assignment?.correlationId ?? null),
    ];
  });
}

/** The director inventory in a fleet store database. */
export class SqlInventoryStore implements InventoryStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async loadRoots(): Promise<Uint8Array[]> {
    try {
      return await this.#db.transaction(async (tx) => {
        const rows = await tx.all('SELECT version, bytes FROM director_roots ORDER BY version');
        rows.forEach((row, i) => {
          if (Number(row.version) !== i + 1) {
            throw new FleetError(
              'ERR_TUF_FLEET_STORE',
              `director root ${i + 1} is missing (found version ${String(row.version)} next)`,
            );
          }
        });
        return rows.map((row) => new Uint8Array(row.bytes as Uint8Array));
      });
    } catch (error) {
      throw storeError(this.#db.dialect, error, 'loading director roots');
    }
  }

  async saveRoot(version: number, bytes: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(version) || version < 1) {
      throw badRequest(`director root version must be a positive integer, got ${version}`);
    }
    try {
      await this.#db.transaction(async (tx) => {
        await tx.run(
          'INSERT INTO director_roots (version, bytes) VALUES (?, ?)' +
            ' ON CONFLICT (version) DO UPDATE SET bytes = excluded.bytes',
          [version, bytes],
        );
      });
    } catch (error) {
      throw storeError(this.#db.dialect, error, `saving director root ${version}`);
    }
  }

  async loadDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    try {
      return await this.#db.transaction(async (tx) => {
        const [row] = await tx.all('SELECT record FROM director_devices WHERE device_id = ?', [
          checkText(deviceId, 'deviceId', LIMITS.id),
        ]);
        return row === undefined ? undefined : (JSON.parse(String(row.record)) as DeviceRecord);
      });
    } catch (error) {
      throw storeError(this.#db.dialect, error, `loading director record of ${deviceId}`);
    }
  }

  async saveDevice(record: DeviceRecord): Promise<void> {
    const deviceId = checkText(record.deviceId, 'deviceId', LIMITS.id);
    if (!Array.isArray(record.ecus)) throw badRequest('a director record needs an ECU list');
    const json = jsonText(record, `director record of ${deviceId}`, LIMITS.directorRecord);
    const rows = ecuRows(record);
    try {
      await this.#db.transaction(async (tx) => {
        await tx.run(
          'INSERT INTO director_devices (device_id, record) VALUES (?, ?)' +
            ' ON CONFLICT (device_id) DO UPDATE SET record = excluded.record',
          [deviceId, json],
        );
        await tx.run('DELETE FROM ecus WHERE device_id = ?', [deviceId]);
        for (const values of rows) {
          await tx.run(
            'INSERT INTO ecus (device_id, ecu_serial, hardware_id, is_primary, installed_target,' +
              ' installed_length, installed_sha256, assigned_target, correlation_id)' +
              ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            values,
          );
        }
      });
    } catch (error) {
      throw storeError(
        this.#db.dialect,
        error,
        `saving director record of ${deviceId}`,
        `director record of ${deviceId} lists an ECU serial twice`,
      );
    }
  }

  async listDevices(): Promise<string[]> {
    try {
      return await this.#db.transaction(async (tx) => {
        const rows = await tx.all('SELECT device_id FROM director_devices ORDER BY device_id');
        return rows.map((row) => String(row.device_id));
      });
    } catch (error) {
      throw storeError(this.#db.dialect, error, 'listing director records');
    }
  }
}
