/**
 * `SqlFleetStore`: the {@link FleetStore} written once in SQL common to SQLite and PostgreSQL,
 * over a {@link SqlDatabase} (a driver adapter and its {@link SqlDialect}). `SqliteFleetStore`
 * and `PostgresFleetStore` only open their driver and hand it here, so both backends run the
 * same statements, checks and audit logic.
 *
 * Every method is one transaction; every value is a bound parameter; writes that take an
 * `AuditInput` append their audit row in that same transaction (`sql-audit.ts`). Safe for
 * concurrent use from one process (and, through the database's locks, from several).
 *
 * @module
 */
import { FleetError } from '../../errors.js';
import { deviceQuerySql } from './device-query.js';
import type {
  ApiToken,
  AuditEntry,
  AuditInput,
  DeviceChallenge,
  DeviceEvent,
  DeviceEventKind,
  DeviceLog,
  DeviceQuery,
  FleetDevice,
  FleetDeviceDetail,
  FleetStore,
  FleetUser,
  Page,
} from './fleet-store.js';
import { migrate } from './migrations.js';
import { appendAuditTx, listAuditTx } from './sql-audit.js';
import { type SqlDatabase, type SqlTransaction, storeError } from './sql-database.js';
import { SqlInventoryStore } from './sql-inventory-store.js';
import {
  checkDevice,
  checkToken,
  checkUser,
  DEVICE_COLUMNS,
  deviceFromRow,
  deviceValues,
  ecuFromRow,
  eventFromRow,
  logFromRow,
  tokenFromRow,
  userFromRow,
} from './sql-rows.js';
import {
  badRequest,
  checkEnum,
  checkLimit,
  checkOptionalText,
  checkText,
  checkTime,
  decodeIdCursor,
  encodeCursor,
  jsonText,
  LIMITS,
} from './validation.js';

const EVENT_KINDS: readonly DeviceEventKind[] = [
  'registered',
  'status',
  'manifest',
  'manifest-refused',
  'assignment',
  'phase',
];

const notFound = (what: string) => new FleetError('ERR_TUF_FLEET_NOT_FOUND', `${what} not found`);

/** The shared SQL implementation of {@link FleetStore}. */
export class SqlFleetStore implements FleetStore {
  readonly #db: SqlDatabase;
  readonly inventory: SqlInventoryStore;

  protected constructor(db: SqlDatabase) {
    this.#db = db;
    this.inventory = new SqlInventoryStore(db);
  }

  /** Run `work` in a transaction, turning driver errors into `FleetError`s. */
  async #tx<T>(
    what: string,
    work: (tx: SqlTransaction) => Promise<T>,
    conflict?: string,
  ): Promise<T> {
    try {
      return await this.#db.transaction(work);
    } catch (error) {
      throw storeError(this.#db.dialect, error, what, conflict);
    }
  }

  async #audit(tx: SqlTransaction, audit: AuditInput | undefined): Promise<void> {
    if (audit !== undefined) await appendAuditTx(this.#db.dialect, tx, audit);
  }

  async migrate(): Promise<number> {
    try {
      return await migrate(this.#db);
    } catch (error) {
      throw storeError(this.#db.dialect, error, 'migrating the schema');
    }
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  // -------------------------------------------------------------------------------------------
  // Devices

  async #writeSideTables(tx: SqlTransaction, device: FleetDevice): Promise<void> {
    await tx.run('DELETE FROM device_attributes WHERE device_id = ?', [device.deviceId]);
    for (const [name, value] of Object.entries(device.attributes)) {
      await tx.run('INSERT INTO device_attributes (device_id, name, value) VALUES (?, ?, ?)', [
        device.deviceId,
        name,
        value,
      ]);
    }
    await tx.run('DELETE FROM device_hardware_ids WHERE device_id = ?', [device.deviceId]);
    for (const id of device.hardwareIds) {
      await tx.run('INSERT INTO device_hardware_ids (device_id, hardware_id) VALUES (?, ?)', [
        device.deviceId,
        id,
      ]);
    }
  }

  async createDevice(device: FleetDevice, audit?: AuditInput): Promise<void> {
    const checked = checkDevice(device);
    await this.#tx(
      `creating device ${checked.deviceId}`,
      async (tx) => {
        await tx.run(
          `INSERT INTO devices (${DEVICE_COLUMNS.join(', ')}) VALUES (${DEVICE_COLUMNS.map(() => '?').join(', ')})`,
          deviceValues(checked),
        );
        await this.#writeSideTables(tx, checked);
        await this.#audit(tx, audit);
      },
      `device ${checked.deviceId} already exists`,
    );
  }

  async #ecusOf(tx: SqlTransaction, deviceIds: string[]) {
    if (deviceIds.length === 0) return new Map<string, ReturnType<typeof ecuFromRow>[]>();
    const rows = await tx.all(
      `SELECT * FROM ecus WHERE device_id IN (${deviceIds.map(() => '?').join(', ')})` +
        ' ORDER BY device_id, is_primary DESC, ecu_serial',
      deviceIds,
    );
    const byDevice = new Map<string, ReturnType<typeof ecuFromRow>[]>();
    for (const row of rows) {
      const ecu = ecuFromRow(row);
      const list = byDevice.get(ecu.deviceId) ?? [];
      list.push(ecu);
      byDevice.set(ecu.deviceId, list);
    }
    return byDevice;
  }

  async getDevice(deviceId: string): Promise<FleetDeviceDetail | undefined> {
    const id = checkText(deviceId, 'deviceId', LIMITS.id);
    return this.#tx(`reading device ${id}`, async (tx) => {
      const [row] = await tx.all('SELECT * FROM devices WHERE device_id = ?', [id]);
      if (row === undefined) return undefined;
      const ecus = await this.#ecusOf(tx, [id]);
      return { ...deviceFromRow(row), ecus: ecus.get(id) ?? [] };
    });
  }

  async updateDevice(
    deviceId: string,
    patch: Partial<Omit<FleetDevice, 'deviceId' | 'createdAt'>>,
    audit?: AuditInput,
  ): Promise<FleetDevice> {
    const id = checkText(deviceId, 'deviceId', LIMITS.id);
    if (typeof patch !== 'object' || patch === null) throw badRequest('patch must be an object');
    return this.#tx(`updating device ${id}`, async (tx) => {
      const [row] = await tx.all(
        `SELECT * FROM devices WHERE device_id = ?${this.#db.dialect.forUpdate}`,
        [id],
      );
      if (row === undefined) throw notFound(`device ${id}`);
      const merged: Record<string, unknown> = { ...deviceFromRow(row) };
      for (const [key, value] of Object.entries(patch)) {
        if (key === 'deviceId' || key === 'createdAt') {
          throw badRequest(`${key} cannot be changed`);
        }
        // A key given as undefined clears an optional field.
        if (value === undefined) delete merged[key];
        else merged[key] = value;
      }
      const updated = checkDevice(merged as unknown as FleetDevice);
      const columns = DEVICE_COLUMNS.slice(1);
      await tx.run(
        `UPDATE devices SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE device_id = ?`,
        [...deviceValues(updated).slice(1), id],
      );
      await this.#writeSideTables(tx, updated);
      await this.#audit(tx, audit);
      return updated;
    });
  }

  async findDeviceByCertificate(sha256: string): Promise<FleetDevice | undefined> {
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    return this.#tx('finding a device by certificate', async (tx) => {
      const [row] = await tx.all(
        'SELECT * FROM devices WHERE certificate_sha256 = ? ORDER BY device_id LIMIT 1',
        [sha256],
      );
      return row === undefined ? undefined : deviceFromRow(row);
    });
  }

  async recordContact(deviceId: string, at: string, address?: string): Promise<void> {
    const id = checkText(deviceId, 'deviceId', LIMITS.id);
    const when = checkTime(at, 'at');
    const from = checkOptionalText(address, 'address', LIMITS.address);
    await this.#tx(`recording contact of ${id}`, async (tx) => {
      const [row] = await tx.all(
        `SELECT addresses FROM devices WHERE device_id = ?${this.#db.dialect.forUpdate}`,
        [id],
      );
      if (row === undefined) throw notFound(`device ${id}`);
      let addresses = JSON.parse(String(row.addresses)) as string[];
      if (from !== undefined && from !== '') {
        addresses = [from, ...addresses.filter((a) => a !== from)].slice(
          0,
          LIMITS.addressesPerDevice,
        );
      }
      await tx.run(
        'UPDATE devices SET last_seen = ?, first_seen = COALESCE(first_seen, ?), addresses = ? WHERE device_id = ?',
        [when, when, JSON.stringify(addresses), id],
      );
    });
  }

  async listDevices(query: DeviceQuery): Promise<Page<FleetDeviceDetail>> {
    const page = deviceQuerySql(this.#db.dialect, query ?? {});
    return this.#tx('listing devices', async (tx) => {
      const rows = await tx.all(page.sql, page.params);
      const pageRows = rows.slice(0, page.limit);
      const ecus = await this.#ecusOf(
        tx,
        pageRows.map((r) => String(r.device_id)),
      );
      const items = pageRows.map((row) => {
        const device = deviceFromRow(row);
        return { ...device, ecus: ecus.get(device.deviceId) ?? [] };
      });
      const last = pageRows.at(-1);
      return rows.length > page.limit && last !== undefined
        ? { items, nextCursor: page.cursorAfter(String(last.sort_key), String(last.device_id)) }
        : { items };
    });
  }

  async *exportDevices(
    query: Omit<DeviceQuery, 'limit' | 'cursor'>,
  ): AsyncIterable<FleetDeviceDetail> {
    let cursor: string | undefined;
    do {
      const page = await this.listDevices({
        ...query,
        limit: 500,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  // -------------------------------------------------------------------------------------------
  // History and logs

  async appendEvent(event: Omit<DeviceEvent, 'id'>): Promise<DeviceEvent> {
    if (typeof event !== 'object' || event === null) throw badRequest('event must be an object');
    if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) {
      throw badRequest('event data must be an object');
    }
    const correlationId = checkOptionalText(event.correlationId, 'correlationId', LIMITS.shortText);
    const checked = {
      deviceId: checkText(event.deviceId, 'deviceId', LIMITS.id),
      kind: checkEnum(event.kind, 'event kind', EVENT_KINDS),
      ...(correlationId !== undefined ? { correlationId } : {}),
      at: checkTime(event.at, 'at'),
      data: event.data,
    };
    const data = jsonText(checked.data, 'event data');
    return this.#tx('appending a device event', async (tx) => {
      const [row] = await tx.all(
        'INSERT INTO device_events (device_id, kind, correlation_id, at, data) VALUES (?, ?, ?, ?, ?) RETURNING id',
        [checked.deviceId, checked.kind, correlationId ?? null, checked.at, data],
      );
      return { id: Number(row?.id), ...checked, data: JSON.parse(data) as Record<string, unknown> };
    });
  }

  async #listKeyset<T extends { id: number }>(
    table: 'device_events' | 'device_logs',
    deviceId: string,
    options: { correlationId?: string; limit?: number; cursor?: string } | undefined,
    map: (row: Record<string, unknown>) => T,
  ): Promise<Page<T>> {
    const id = checkText(deviceId, 'deviceId', LIMITS.id);
    const limit = checkLimit(options?.limit);
    const after = decodeIdCursor(options?.cursor);
    const correlationId = checkOptionalText(
      options?.correlationId,
      'correlationId',
      LIMITS.shortText,
    );
    return this.#tx(`listing ${table}`, async (tx) => {
      const rows = await tx.all(
        `SELECT * FROM ${table} WHERE device_id = ? AND id > ?` +
          (correlationId !== undefined ? ' AND correlation_id = ?' : '') +
          ' ORDER BY id LIMIT ?',
        [id, after, ...(correlationId !== undefined ? [correlationId] : []), limit + 1],
      );
      const items = rows.slice(0, limit).map(map);
      const last = items.at(-1);
      return rows.length > limit && last !== undefined
        ? { items, nextCursor: encodeCursor({ id: last.id }) }
        : { items };
    });
  }

  listEvents(
    deviceId: string,
    options?: { correlationId?: string; limit?: number; cursor?: string },
  ): Promise<Page<DeviceEvent>> {
    return this.#listKeyset('device_events', deviceId, options, eventFromRow);
  }

  async appendLog(log: Omit<DeviceLog, 'id'>): Promise<DeviceLog> {
    if (typeof log !== 'object' || log === null) throw badRequest('log must be an object');
    if (!Array.isArray(log.lines)) throw badRequest('log lines must be a list');
    if (log.lines.length > LIMITS.logLines) {
      throw new FleetError(
        'ERR_TUF_FLEET_TOO_LARGE',
        `a log chunk holds at most ${LIMITS.logLines} lines`,
      );
    }
    const checked = {
      deviceId: checkText(log.deviceId, 'deviceId', LIMITS.id),
      correlationId: checkText(log.correlationId, 'correlationId', LIMITS.shortText),
      at: checkTime(log.at, 'at'),
      lines: log.lines.map((line, i) => {
        if (typeof line === 'string' && line.length > LIMITS.logLine) {
          throw new FleetError(
            'ERR_TUF_FLEET_TOO_LARGE',
            `log line ${i} is longer than ${LIMITS.logLine} characters`,
          );
        }
        return checkText(line, `lines[${i}]`, LIMITS.logLine, true);
      }),
    };
    return this.#tx('appending a device log', async (tx) => {
      const [row] = await tx.all(
        'INSERT INTO device_logs (device_id, correlation_id, at, lines) VALUES (?, ?, ?, ?) RETURNING id',
        [checked.deviceId, checked.correlationId, checked.at, JSON.stringify(checked.lines)],
      );
      return { id: Number(row?.id), ...checked };
    });
  }

  listLogs(
    deviceId: string,
    options?: { correlationId?: string; limit?: number; cursor?: string },
  ): Promise<Page<DeviceLog>> {
    return this.#listKeyset('device_logs', deviceId, options, logFromRow);
  }

  async pruneLogs(policy: { olderThan?: string; keepPerDevice?: number }): Promise<number> {
    const olderThan =
      policy?.olderThan === undefined ? undefined : checkTime(policy.olderThan, 'olderThan');
    const keep = policy?.keepPerDevice;
    if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 0)) {
      throw badRequest('keepPerDevice must be a non-negative integer');
    }
    return this.#tx('pruning logs', async (tx) => {
      let removed = 0;
      if (olderThan !== undefined) {
        removed += await tx.run('DELETE FROM device_logs WHERE at < ?', [olderThan]);
      }
      if (keep !== undefined) {
        removed += await tx.run(
          'DELETE FROM device_logs WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER' +
            ' (PARTITION BY device_id ORDER BY id DESC) AS newer FROM device_logs) ranked WHERE newer > ?)',
          [keep],
        );
      }
      return removed;
    });
  }

  // -------------------------------------------------------------------------------------------
  // People

  async createUser(user: FleetUser, audit?: AuditInput): Promise<void> {
    const u = checkUser(user);
    await this.#tx(
      `creating user ${u.userId}`,
      async (tx) => {
        await tx.run(
          'INSERT INTO users (user_id, name, role, created_at, disabled_at) VALUES (?, ?, ?, ?, ?)',
          [u.userId, u.name, u.role, u.createdAt, u.disabledAt ?? null],
        );
        await this.#audit(tx, audit);
      },
      `user ${u.userId} already exists`,
    );
  }

  async getUser(userId: string): Promise<FleetUser | undefined> {
    const id = checkText(userId, 'userId', LIMITS.id);
    return this.#tx('reading a user', async (tx) => {
      const [row] = await tx.all('SELECT * FROM users WHERE user_id = ?', [id]);
      return row === undefined ? undefined : userFromRow(row);
    });
  }

  async listUsers(): Promise<FleetUser[]> {
    return this.#tx('listing users', async (tx) =>
      (await tx.all('SELECT * FROM users ORDER BY user_id')).map(userFromRow),
    );
  }

  async updateUser(
    userId: string,
    patch: Partial<Pick<FleetUser, 'name' | 'role' | 'disabledAt'>>,
    audit?: AuditInput,
  ): Promise<FleetUser> {
    const id = checkText(userId, 'userId', LIMITS.id);
    if (typeof patch !== 'object' || patch === null) throw badRequest('patch must be an object');
    return this.#tx(`updating user ${id}`, async (tx) => {
      const [row] = await tx.all(
        `SELECT * FROM users WHERE user_id = ?${this.#db.dialect.forUpdate}`,
        [id],
      );
      if (row === undefined) throw notFound(`user ${id}`);
      const merged: Record<string, unknown> = { ...userFromRow(row) };
      for (const key of ['name', 'role', 'disabledAt'] as const) {
        if (!Object.hasOwn(patch, key)) continue;
        if (patch[key] === undefined) delete merged[key];
        else merged[key] = patch[key];
      }
      const u = checkUser(merged as unknown as FleetUser);
      await tx.run('UPDATE users SET name = ?, role = ?, disabled_at = ? WHERE user_id = ?', [
        u.name,
        u.role,
        u.disabledAt ?? null,
        id,
      ]);
      await this.#audit(tx, audit);
      return u;
    });
  }

  async createToken(token: ApiToken, audit?: AuditInput): Promise<void> {
    const t = checkToken(token);
    await this.#tx(
      `creating token ${t.tokenId}`,
      async (tx) => {
        await tx.run(
          'INSERT INTO tokens (token_id, user_id, device_id, sha256, scopes, description, created_at,' +
            ' expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            t.tokenId,
            t.userId ?? null,
            t.deviceId ?? null,
            t.sha256,
            JSON.stringify(t.scopes),
            t.description ?? null,
            t.createdAt,
            t.expiresAt,
            t.revokedAt ?? null,
            t.lastUsedAt ?? null,
          ],
        );
        await this.#audit(tx, audit);
      },
      `token ${t.tokenId} (or one with the same secret) already exists`,
    );
  }

  async findTokenBySha256(sha256: string): Promise<ApiToken | undefined> {
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    return this.#tx('finding a token', async (tx) => {
      const [row] = await tx.all('SELECT * FROM tokens WHERE sha256 = ?', [sha256]);
      return row === undefined ? undefined : tokenFromRow(row);
    });
  }

  async listTokens(filter: { userId?: string; deviceId?: string }): Promise<ApiToken[]> {
    const userId = checkOptionalText(filter?.userId, 'userId', LIMITS.id);
    const deviceId = checkOptionalText(filter?.deviceId, 'deviceId', LIMITS.id);
    const where: string[] = [];
    const params: string[] = [];
    if (userId !== undefined) where.push('user_id = ?') && params.push(userId);
    if (deviceId !== undefined) where.push('device_id = ?') && params.push(deviceId);
    return this.#tx('listing tokens', async (tx) =>
      (
        await tx.all(
          `SELECT * FROM tokens${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}` +
            ' ORDER BY created_at, token_id',
          params,
        )
      ).map(tokenFromRow),
    );
  }

  async revokeToken(tokenId: string, at: string, audit?: AuditInput): Promise<ApiToken> {
    const id = checkText(tokenId, 'tokenId', LIMITS.id);
    const when = checkTime(at, 'at');
    return this.#tx(`revoking token ${id}`, async (tx) => {
      // The first revocation time stands; revoking again changes nothing but is audited.
      await tx.run('UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE token_id = ?', [
        when,
        id,
      ]);
      const [row] = await tx.all('SELECT * FROM tokens WHERE token_id = ?', [id]);
      if (row === undefined) throw notFound(`token ${id}`);
      await this.#audit(tx, audit);
      return tokenFromRow(row);
    });
  }

  async touchToken(tokenId: string, at: string): Promise<void> {
    const id = checkText(tokenId, 'tokenId', LIMITS.id);
    const when = checkTime(at, 'at');
    await this.#tx(`touching token ${id}`, async (tx) => {
      const changed = await tx.run('UPDATE tokens SET last_used_at = ? WHERE token_id = ?', [
        when,
        id,
      ]);
      if (changed === 0) throw notFound(`token ${id}`);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Device authentication

  async createChallenge(challenge: DeviceChallenge): Promise<void> {
    if (typeof challenge !== 'object' || challenge === null) {
      throw badRequest('challenge must be an object');
    }
    const c = {
      challengeId: checkText(challenge.challengeId, 'challengeId', LIMITS.id),
      deviceId: checkText(challenge.deviceId, 'deviceId', LIMITS.id),
      nonce: checkText(challenge.nonce, 'nonce', LIMITS.shortText),
      createdAt: checkTime(challenge.createdAt, 'createdAt'),
      expiresAt: checkTime(challenge.expiresAt, 'expiresAt'),
    };
    await this.#tx(
      'creating a challenge',
      async (tx) => {
        // Expired challenges can never be answered: drop some with every new one, so the table
        // stays small (bounded work per call; rows another writer holds are left for later).
        await tx.run(
          'DELETE FROM challenges WHERE challenge_id IN (SELECT challenge_id FROM challenges' +
            ` WHERE expires_at <= ? LIMIT 100${this.#db.dialect.skipLocked})`,
          [c.createdAt],
        );
        await tx.run(
          'INSERT INTO challenges (challenge_id, device_id, nonce, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
          [c.challengeId, c.deviceId, c.nonce, c.createdAt, c.expiresAt],
        );
      },
      `challenge ${c.challengeId} already exists`,
    );
  }

  async consumeChallenge(challengeId: string, at: string): Promise<DeviceChallenge | undefined> {
    if (typeof challengeId !== 'string' || challengeId.length > LIMITS.id) return undefined;
    const when = checkTime(at, 'at');
    return this.#tx('consuming a challenge', async (tx) => {
      // One statement takes the row out: of two concurrent consumers only one gets it.
      const [row] = await tx.all(
        'DELETE FROM challenges WHERE challenge_id = ? RETURNING challenge_id, device_id, nonce, created_at, expires_at',
        [challengeId],
      );
      if (row === undefined || String(row.expires_at) <= when) return undefined;
      return {
        challengeId: String(row.challenge_id),
        deviceId: String(row.device_id),
        nonce: String(row.nonce),
        createdAt: String(row.created_at),
        expiresAt: String(row.expires_at),
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Audit and settings

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.#tx('appending an audit entry', (tx) => appendAuditTx(this.#db.dialect, tx, entry));
  }

  async listAudit(options?: { afterSeq?: number; limit?: number }): Promise<AuditEntry[]> {
    const afterSeq = options?.afterSeq ?? 0;
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
      throw badRequest('afterSeq must be a non-negative integer');
    }
    const limit = options?.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw badRequest('limit must be an integer from 1 to 10000');
    }
    return this.#tx('listing the audit log', (tx) => listAuditTx(tx, afterSeq, limit));
  }

  async getSetting(key: string): Promise<unknown> {
    const k = checkText(key, 'setting key', LIMITS.attributeName * 2);
    return this.#tx('reading a setting', async (tx) => {
      const [row] = await tx.all('SELECT value FROM settings WHERE key = ?', [k]);
      return row === undefined ? undefined : (JSON.parse(String(row.value)) as unknown);
    });
  }

  async setSetting(key: string, value: unknown, audit?: AuditInput): Promise<void> {
    const k = checkText(key, 'setting key', LIMITS.attributeName * 2);
    const text = jsonText(value, `setting ${k}`);
    await this.#tx(`writing setting ${k}`, async (tx) => {
      await tx.run(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [k, text],
      );
      await this.#audit(tx, audit);
    });
  }
}
