/**
 * A {@link DeviceQuery} as SQL: every condition a fixed fragment with `?` placeholders and the
 * values bound beside it; sort fields and directions are closed enums mapped to fixed column
 * expressions. Nothing from the query is ever spliced into the SQL text.
 *
 * Pagination is keyset on `(sort key, device_id)`: the cursor carries the last row's sort key
 * and device id (base64url JSON), so a page never repeats or skips a row because rows were
 * inserted or removed before it. A cursor that does not decode, or was issued for another sort,
 * is `ERR_TUF_FLEET_BAD_REQUEST`.
 *
 * @module
 */
import type { DeviceQuery, DeviceSortField } from './fleet-store.js';
import type { SqlDialect, SqlValue } from './sql-database.js';
import {
  badRequest,
  checkAttributeName,
  checkEnum,
  checkLimit,
  checkText,
  checkTime,
  DEVICE_STATUSES,
  decodeCursor,
  encodeCursor,
  LIMITS,
  SORT_FIELDS,
} from './validation.js';

/** Sort field → column expression. NULL times sort as '' (before every time). */
const SORT_COLUMNS: Record<DeviceSortField, string> = {
  deviceId: 'd.device_id',
  lastSeen: "COALESCE(d.last_seen, '')",
  firstSeen: "COALESCE(d.first_seen, '')",
  createdAt: 'd.created_at',
  status: 'd.status',
};

/** The SQL of one page. */
export interface DeviceQuerySql {
  /** `SELECT d.*, <sort key> AS sort_key FROM devices d WHERE … ORDER BY … LIMIT ?`. */
  sql: string;
  params: SqlValue[];
  /** Rows asked for: the page size + 1 (the extra row says whether there is a next page). */
  fetch: number;
  limit: number;
  /** The cursor that continues after a row with this sort key and device id. */
  cursorAfter(sortKey: string, deviceId: string): string;
}

const MAX_FILTER = LIMITS.path;

/** Build the SQL of one page of `query` (validated here; refused with `BAD_REQUEST`). */
export function deviceQuerySql(dialect: SqlDialect, query: DeviceQuery): DeviceQuerySql {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const text = (value: unknown, field: string) => checkText(value, field, MAX_FILTER, true);

  if (query.status !== undefined) {
    if (!Array.isArray(query.status)) throw badRequest('status must be a list');
    const statuses = [...new Set(query.status.map((s) => checkEnum(s, 'status', DEVICE_STATUSES)))];
    if (statuses.length > 0) {
      where.push(`d.status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
  }
  if (query.model !== undefined) {
    where.push('d.model = ?');
    params.push(text(query.model, 'model'));
  }
  if (query.hardwareRevision !== undefined) {
    where.push('d.hardware_revision = ?');
    params.push(text(query.hardwareRevision, 'hardwareRevision'));
  }
  if (query.hardwareId !== undefined) {
    const id = text(query.hardwareId, 'hardwareId');
    // The ECU rows of the director's inventory, or the ids the device registered with.
    where.push(
      '(EXISTS (SELECT 1 FROM ecus e WHERE e.device_id = d.device_id AND e.hardware_id = ?)' +
        ' OR EXISTS (SELECT 1 FROM device_hardware_ids h WHERE h.device_id = d.device_id AND h.hardware_id = ?))',
    );
    params.push(id, id);
  }
  if (query.attributes !== undefined) {
    if (typeof query.attributes !== 'object' || query.attributes === null) {
      throw badRequest('attributes must be an object');
    }
    const entries = Object.entries(query.attributes);
    if (entries.length > LIMITS.attributesPerDevice) {
      throw badRequest(`attributes filter has more than ${LIMITS.attributesPerDevice} entries`);
    }
    for (const [name, value] of entries) {
      checkAttributeName(name, 'attribute filter name');
      where.push(
        'EXISTS (SELECT 1 FROM device_attributes a WHERE a.device_id = d.device_id AND a.name = ? AND a.value = ?)',
      );
      params.push(name, checkText(value, `attributes.${name}`, LIMITS.attributeValue, true));
    }
  }
  if (query.installedTarget !== undefined) {
    where.push(
      'EXISTS (SELECT 1 FROM ecus e WHERE e.device_id = d.device_id AND e.installed_target = ?)',
    );
    params.push(text(query.installedTarget, 'installedTarget'));
  }
  if (query.installedTargetPrefix !== undefined) {
    const prefix = text(query.installedTargetPrefix, 'installedTargetPrefix');
    // substr/length count characters (code points) in both dialects; no LIKE, so `%` and `_`
    // in the prefix are plain characters.
    where.push(
      'EXISTS (SELECT 1 FROM ecus e WHERE e.device_id = d.device_id AND substr(e.installed_target, 1, ?) = ?)',
    );
    params.push([...prefix].length, prefix);
  }
  if (query.lastSeenFrom !== undefined) {
    where.push('d.last_seen >= ?');
    params.push(checkTime(query.lastSeenFrom, 'lastSeenFrom'));
  }
  if (query.lastSeenBefore !== undefined) {
    where.push('d.last_seen < ?');
    params.push(checkTime(query.lastSeenBefore, 'lastSeenBefore'));
  }
  if (query.deviceIdContains !== undefined) {
    where.push(dialect.contains('d.device_id', '?'));
    params.push(text(query.deviceIdContains, 'deviceIdContains'));
  }

  const field = checkEnum(query.sort?.field ?? 'deviceId', 'sort field', SORT_FIELDS);
  const direction = checkEnum(query.sort?.direction ?? 'asc', 'sort direction', [
    'asc',
    'desc',
  ] as const);
  const key = SORT_COLUMNS[field];
  const comparison = direction === 'asc' ? '>' : '<';

  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    if (cursor.f !== field || cursor.d !== direction) {
      throw badRequest(
        `cursor was issued for sort ${String(cursor.f)}:${String(cursor.d)}, not ${field}:${direction}`,
      );
    }
    if (
      typeof cursor.k !== 'string' ||
      typeof cursor.i !== 'string' ||
      cursor.k.length > LIMITS.path ||
      cursor.i.length > LIMITS.id
    ) {
      throw badRequest('cursor is not a cursor this server issued');
    }
    if (field === 'deviceId') {
      where.push(`d.device_id ${comparison} ?`);
      params.push(cursor.i);
    } else {
      where.push(`(${key}, d.device_id) ${comparison} (?, ?)`);
      params.push(cursor.k, cursor.i);
    }
  }

  const limit = checkLimit(query.limit);
  const order = direction === 'asc' ? 'ASC' : 'DESC';
  const sql =
    `SELECT d.*, ${key} AS sort_key FROM devices d` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${key} ${order}, d.device_id ${order} LIMIT ?`;
  params.push(limit + 1);
  return {
    sql,
    params,
    fetch: limit + 1,
    limit,
    cursorAfter: (sortKey, deviceId) =>
      encodeCursor({ f: field, d: direction, k: sortKey, i: deviceId }),
  };
}
