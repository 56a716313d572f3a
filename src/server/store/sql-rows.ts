/**
 * Rows of the fleet store's tables ↔ the `FleetStore` types: checks of what is written (every
 * field validated, JSON columns capped) and mapping of what is read (SQL NULL → absent field,
 * PostgreSQL's 64-bit integers, returned as strings, → numbers).
 *
 * @module
 */
import type { PublicKeyData } from '../../crypto/index.js';
import type {
  ApiToken,
  AuditEntry,
  DeviceEvent,
  DeviceLog,
  FleetDevice,
  FleetEcu,
  FleetUser,
} from './fleet-store.js';
import type { SqlRow, SqlValue } from './sql-database.js';
import {
  badRequest,
  checkAttributes,
  checkEnum,
  checkOptionalText,
  checkOptionalTime,
  checkSha256,
  checkStringList,
  checkText,
  checkTime,
  DEVICE_STATUSES,
  jsonText,
  LIMITS,
  PROVISIONING_MODES,
  TOKEN_SCOPES,
  USER_ROLES,
} from './validation.js';

/** Copy `value` under `key` unless it is SQL NULL. */
function opt<T>(key: string, value: unknown, map: (v: unknown) => T = (v) => v as T) {
  return value === null || value === undefined ? {} : { [key]: map(value) };
}

const str = (v: unknown) => String(v);
const num = (v: unknown) => Number(v);

/** A device, checked and normalized (times in `toISOString()` form). */
export function checkDevice(device: FleetDevice): FleetDevice {
  if (typeof device !== 'object' || device === null) throw badRequest('device must be an object');
  let publicKey: PublicKeyData | undefined;
  if (device.publicKey !== undefined) {
    if (typeof device.publicKey !== 'object' || device.publicKey === null) {
      throw badRequest('publicKey must be a key object');
    }
    jsonText(device.publicKey, 'publicKey');
    publicKey = device.publicKey;
  }
  return {
    deviceId: checkText(device.deviceId, 'deviceId', LIMITS.id),
    status: checkEnum(device.status, 'status', DEVICE_STATUSES),
    provisioning: checkEnum(device.provisioning, 'provisioning', PROVISIONING_MODES),
    ...(publicKey !== undefined ? { publicKey } : {}),
    ...opt('certificateSha256', device.certificateSha256, (v) =>
      checkSha256(v, 'certificateSha256'),
    ),
    ...opt('model', checkOptionalText(device.model, 'model', LIMITS.shortText)),
    ...opt(
      'hardwareRevision',
      checkOptionalText(device.hardwareRevision, 'hardwareRevision', LIMITS.shortText),
    ),
    hardwareIds: [
      ...new Set(
        checkStringList(
          device.hardwareIds ?? [],
          'hardwareIds',
          LIMITS.hardwareIdsPerDevice,
          LIMITS.shortText,
        ),
      ),
    ],
    addresses: checkStringList(
      device.addresses ?? [],
      'addresses',
      LIMITS.addressesPerDevice,
      LIMITS.address,
    ),
    attributes: checkAttributes(device.attributes ?? {}),
    createdAt: checkTime(device.createdAt, 'createdAt'),
    ...opt('firstSeen', checkOptionalTime(device.firstSeen, 'firstSeen')),
    ...opt('lastSeen', checkOptionalTime(device.lastSeen, 'lastSeen')),
  };
}

/** The `devices` columns of a checked device, in {@link DEVICE_COLUMNS} order. */
export function deviceValues(d: FleetDevice): SqlValue[] {
  return [
    d.deviceId,
    d.status,
    d.provisioning,
    d.publicKey === undefined ? null : JSON.stringify(d.publicKey),
    d.certificateSha256 ?? null,
    d.model ?? null,
    d.hardwareRevision ?? null,
    JSON.stringify(d.hardwareIds),
    JSON.stringify(d.addresses),
    JSON.stringify(d.attributes),
    d.createdAt,
    d.firstSeen ?? null,
    d.lastSeen ?? null,
  ];
}

export const DEVICE_COLUMNS = [
  'device_id',
  'status',
  'provisioning',
  'public_key',
  'certificate_sha256',
  'model',
  'hardware_revision',
  'hardware_ids',
  'addresses',
  'attributes',
  'created_at',
  'first_seen',
  'last_seen',
] as const;

export function deviceFromRow(row: SqlRow): FleetDevice {
  return {
    deviceId: str(row.device_id),
    status: row.status as FleetDevice['status'],
    provisioning: row.provisioning as FleetDevice['provisioning'],
    ...opt('publicKey', row.public_key, (v) => JSON.parse(str(v)) as PublicKeyData),
    ...opt('certificateSha256', row.certificate_sha256, str),
    ...opt('model', row.model, str),
    ...opt('hardwareRevision', row.hardware_revision, str),
    hardwareIds: JSON.parse(str(row.hardware_ids)) as string[],
    addresses: JSON.parse(str(row.addresses)) as string[],
    attributes: JSON.parse(str(row.attributes)) as Record<string, string>,
    createdAt: str(row.created_at),
    ...opt('firstSeen', row.first_seen, str),
    ...opt('lastSeen', row.last_seen, str),
  };
}

export function ecuFromRow(row: SqlRow): FleetEcu {
  return {
    deviceId: str(row.device_id),
    ecuSerial: str(row.ecu_serial),
    hardwareId: str(row.hardware_id),
    primary: Number(row.is_primary) === 1,
    ...opt('installedTarget', row.installed_target, str),
    ...opt('installedLength', row.installed_length, num),
    ...opt('installedSha256', row.installed_sha256, str),
    ...opt('assignedTarget', row.assigned_target, str),
    ...opt('correlationId', row.correlation_id, str),
  };
}

export function eventFromRow(row: SqlRow): DeviceEvent {
  return {
    id: Number(row.id),
    deviceId: str(row.device_id),
    kind: row.kind as DeviceEvent['kind'],
    ...opt('correlationId', row.correlation_id, str),
    at: str(row.at),
    data: JSON.parse(str(row.data)) as Record<string, unknown>,
  };
}

export function logFromRow(row: SqlRow): DeviceLog {
  return {
    id: Number(row.id),
    deviceId: str(row.device_id),
    correlationId: str(row.correlation_id),
    at: str(row.at),
    lines: JSON.parse(str(row.lines)) as string[],
  };
}

export function checkUser(user: FleetUser): FleetUser {
  if (typeof user !== 'object' || user === null) throw badRequest('user must be an object');
  return {
    userId: checkText(user.userId, 'userId', LIMITS.id),
    name: checkText(user.name, 'name', LIMITS.shortText),
    role: checkEnum(user.role, 'role', USER_ROLES),
    createdAt: checkTime(user.createdAt, 'createdAt'),
    ...opt('disabledAt', checkOptionalTime(user.disabledAt, 'disabledAt')),
  };
}

export function userFromRow(row: SqlRow): FleetUser {
  return {
    userId: str(row.user_id),
    name: str(row.name),
    role: row.role as FleetUser['role'],
    createdAt: str(row.created_at),
    ...opt('disabledAt', row.disabled_at, str),
  };
}

export function checkToken(token: ApiToken): ApiToken {
  if (typeof token !== 'object' || token === null) throw badRequest('token must be an object');
  if (!Array.isArray(token.scopes)) throw badRequest('scopes must be a list');
  return {
    tokenId: checkText(token.tokenId, 'tokenId', LIMITS.id),
    ...opt('userId', checkOptionalText(token.userId, 'userId', LIMITS.id)),
    ...opt('deviceId', checkOptionalText(token.deviceId, 'deviceId', LIMITS.id)),
    sha256: checkSha256(token.sha256, 'sha256'),
    scopes: [...new Set(token.scopes.map((s) => checkEnum(s, 'scope', TOKEN_SCOPES)))],
    ...opt('description', checkOptionalText(token.description, 'description', LIMITS.shortText)),
    createdAt: checkTime(token.createdAt, 'createdAt'),
    expiresAt: checkTime(token.expiresAt, 'expiresAt'),
    ...opt('revokedAt', checkOptionalTime(token.revokedAt, 'revokedAt')),
    ...opt('lastUsedAt', checkOptionalTime(token.lastUsedAt, 'lastUsedAt')),
  };
}

export function tokenFromRow(row: SqlRow): ApiToken {
  return {
    tokenId: str(row.token_id),
    ...opt('userId', row.user_id, str),
    ...opt('deviceId', row.device_id, str),
    sha256: str(row.sha256),
    scopes: JSON.parse(str(row.scopes)) as ApiToken['scopes'],
    ...opt('description', row.description, str),
    createdAt: str(row.created_at),
    expiresAt: str(row.expires_at),
    ...opt('revokedAt', row.revoked_at, str),
    ...opt('lastUsedAt', row.last_used_at, str),
  };
}

export function auditFromRow(row: SqlRow): AuditEntry {
  return {
    seq: Number(row.seq),
    prevHash: str(row.prev_hash),
    actor: str(row.actor),
    action: str(row.action),
    subject: str(row.subject),
    ...opt('from', row.from_address, str),
    at: str(row.at),
    ...opt('before', row.before_json, (v) => JSON.parse(str(v)) as unknown),
    ...opt('after', row.after_json, (v) => JSON.parse(str(v)) as unknown),
    hash: str(row.hash),
  };
}
