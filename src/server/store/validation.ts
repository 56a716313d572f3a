/**
 * Input checks of the fleet store, applied before anything reaches SQL: lengths capped, closed
 * enums checked at run time (callers may pass unchecked HTTP input), attribute names restricted
 * to `[A-Za-z0-9_.-]{1,64}`, JSON values capped, and times normalized to
 * `Date.prototype.toISOString()` form so that text comparison orders them. Every refusal is a
 * `FleetError` with code `ERR_TUF_FLEET_BAD_REQUEST` naming the field.
 *
 * Pure: no I/O, no clock.
 *
 * @module
 */
import { FleetError } from '../../errors.js';
import type {
  DeviceSortField,
  DeviceStatus,
  ProvisioningMode,
  TokenScope,
  UserRole,
} from './fleet-store.js';

/** The store's limits. */
export const LIMITS = Object.freeze({
  /** Device, user, token, challenge ids and ECU serials. */
  id: 256,
  /** Model, hardware revision, hardware id, names, actors, actions, subjects. */
  shortText: 256,
  /** Target paths and filter values. */
  path: 1024,
  attributeName: 64,
  attributeValue: 256,
  attributesPerDevice: 64,
  hardwareIdsPerDevice: 64,
  addressesPerDevice: 8,
  address: 128,
  /** A device event's `data`, a setting's value, a public key (serialized JSON, bytes). */
  json: 64 * 1024,
  /** An audit entry's `before` and `after`, each (serialized JSON, bytes). */
  auditJson: 256 * 1024,
  /** A director inventory record (it holds the device's signed metadata). */
  directorRecord: 16 * 1024 * 1024,
  logLines: 1000,
  logLine: 4 * 1024,
  pageSize: 1000,
});

export const DEVICE_STATUSES: readonly DeviceStatus[] = [
  'pending',
  'accepted',
  'rejected',
  'decommissioned',
];
export const PROVISIONING_MODES: readonly ProvisioningMode[] = [
  'mtls',
  'device-key',
  'manual',
  'shared-key',
];
export const USER_ROLES: readonly UserRole[] = ['viewer', 'operator', 'releaser', 'admin'];
export const TOKEN_SCOPES: readonly TokenScope[] = ['read', 'devices', 'releases', 'admin'];
export const SORT_FIELDS: readonly DeviceSortField[] = [
  'deviceId',
  'lastSeen',
  'firstSeen',
  'createdAt',
  'status',
];

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function badRequest(message: string): FleetError {
  return new FleetError('ERR_TUF_FLEET_BAD_REQUEST', message);
}

/** A string of 1..`max` characters (`allowEmpty`: 0..`max`). */
export function checkText(value: unknown, field: string, max: number, allowEmpty = false): string {
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  if (!allowEmpty && value.length === 0) throw badRequest(`${field} must not be empty`);
  if (value.length > max) throw badRequest(`${field} is longer than ${max} characters`);
  // PostgreSQL text cannot hold NUL; refused in both backends so that they behave alike.
  if (value.includes('\u0000')) throw badRequest(`${field} contains a NUL character`);
  return value;
}

export function checkOptionalText(value: unknown, field: string, max: number): string | undefined {
  return value === undefined ? undefined : checkText(value, field, max, true);
}

export function checkEnum<T extends string>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badRequest(`${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** A lower-case hex SHA-256. */
export function checkSha256(value: unknown, field: string): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
    throw badRequest(`${field} must be a lower-case hex SHA-256 (64 characters)`);
  }
  return value;
}

/**
 * An ISO 8601 time, returned in `toISOString()` form (`2026-12-04T18:00:00.000Z`), so that
 * times stored and compared as text sort in time order.
 */
export function checkTime(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 64) {
    throw badRequest(`${field} must be an ISO 8601 time`);
  }
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    throw badRequest(`${field} must be an ISO 8601 time, got ${JSON.stringify(value)}`);
  }
  return new Date(ms).toISOString();
}

export function checkOptionalTime(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : checkTime(value, field);
}

export function checkAttributeName(name: unknown, field = 'attribute name'): string {
  if (typeof name !== 'string' || !ATTRIBUTE_NAME.test(name)) {
    throw badRequest(
      `${field} ${JSON.stringify(String(name).slice(0, 80))} must be 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  return name;
}

/** Attributes: at most 64, names per {@link checkAttributeName}, values ≤ 256 characters. */
export function checkAttributes(value: unknown, field = 'attributes'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`${field} must be an object of strings`);
  }
  const entries = Object.entries(value);
  if (entries.length > LIMITS.attributesPerDevice) {
    throw badRequest(`${field} has more than ${LIMITS.attributesPerDevice} entries`);
  }
  const out: Record<string, string> = {};
  for (const [name, v] of entries) {
    checkAttributeName(name, `${field} name`);
    out[name] = checkText(v, `${field}.${name}`, LIMITS.attributeValue, true);
  }
  return out;
}

/** A list of strings, each 1..`itemMax` characters, at most `max` of them. */
export function checkStringList(
  value: unknown,
  field: string,
  max: number,
  itemMax: number,
): string[] {
  if (!Array.isArray(value)) throw badRequest(`${field} must be an array of strings`);
  if (value.length > max) throw badRequest(`${field} has more than ${max} entries`);
  return value.map((v, i) => checkText(v, `${field}[${i}]`, itemMax));
}

/** `JSON.stringify(value)`, refused above `max` bytes. */
export function jsonText(value: unknown, field: string, max = LIMITS.json): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw badRequest(`${field} is not a JSON value`);
  if (Buffer.byteLength(text, 'utf8') > max) {
    throw new FleetError('ERR_TUF_FLEET_TOO_LARGE', `${field} is larger than ${max} bytes`);
  }
  return text;
}

/** A page size: an integer 1..1000, default 100. */
export function checkLimit(value: unknown, fallback = 100): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > LIMITS.pageSize
  ) {
    throw badRequest(`limit must be an integer from 1 to ${LIMITS.pageSize}`);
  }
  return value;
}

/** Encode a cursor: base64url of its JSON. */
export function encodeCursor(payload: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** Decode a cursor made by {@link encodeCursor}; anything else is a bad request. */
export function decodeCursor(cursor: unknown): Record<string, unknown> {
  if (typeof cursor !== 'string' || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw badRequest('cursor is not a cursor this server issued');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not a cursor this server issued');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('cursor is not a cursor this server issued');
  }
  return value as Record<string, unknown>;
}

/** Keyset cursor of event and log lists: the last id seen. */
export function decodeIdCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const { id } = decodeCursor(cursor);
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw badRequest('cursor is not a cursor this server issued');
  }
  return id;
}
