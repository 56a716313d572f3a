/**
 * The admin API's device filters: the query-string schema of `GET /devices` and
 * `GET /devices/export`, and its translation to a store {@link DeviceQuery}. Filter values are
 * passed to the store as values (bound parameters there), never as SQL; sort fields are a closed
 * list.
 *
 * Pure. Safe for concurrent use.
 *
 * @module
 */
import type { DeviceQuery, DeviceSortField, DeviceStatus } from '../store/fleet-store.js';
import { TIME } from './schemas.js';

const STATUS = '(pending|accepted|rejected|decommissioned)';

/** Query-string properties shared by the list and the export. */
const FILTER_PROPERTIES = {
  status: { type: 'string', pattern: `^${STATUS}(,${STATUS}){0,3}$` },
  model: { type: 'string', minLength: 1, maxLength: 128 },
  hardwareRevision: { type: 'string', minLength: 1, maxLength: 64 },
  hardwareId: { type: 'string', minLength: 1, maxLength: 128 },
  installed: { type: 'string', minLength: 1, maxLength: 1024 },
  installedPrefix: { type: 'string', minLength: 1, maxLength: 1024 },
  lastSeenFrom: TIME,
  lastSeenBefore: TIME,
  q: { type: 'string', minLength: 1, maxLength: 128 },
  sort: {
    type: 'string',
    pattern: '^(deviceId|lastSeen|firstSeen|createdAt|status)(:(asc|desc))?$',
  },
} as const;

/** `attr.<name>=<value>`: attribute equality filters. */
const ATTRIBUTE_FILTERS = {
  '^attr\\.[A-Za-z0-9_.-]{1,64}$': { type: 'string', maxLength: 256 },
} as const;

/** Query schema of `GET /devices`. */
export const DEVICE_LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  maxProperties: 40,
  properties: {
    ...FILTER_PROPERTIES,
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
    cursor: { type: 'string', minLength: 1, maxLength: 512 },
  },
  patternProperties: ATTRIBUTE_FILTERS,
} as const;

/** Query schema of `GET /devices/export`. */
export const DEVICE_EXPORT_QUERY = {
  type: 'object',
  additionalProperties: false,
  maxProperties: 40,
  properties: { ...FILTER_PROPERTIES, format: { enum: ['csv', 'json'] } },
  patternProperties: ATTRIBUTE_FILTERS,
} as const;

/** The validated query string. */
export type DeviceQueryString = Record<string, string | undefined>;

/**
 * The store query for a validated query string.
 *
 * @example
 * ```ts
 * toDeviceQuery({ status: 'accepted', 'attr.site': 'oslo', sort: 'lastSeen:desc' });
 * ```
 */
export function toDeviceQuery(q: DeviceQueryString): DeviceQuery {
  const query: DeviceQuery = {};
  if (q.status !== undefined) query.status = q.status.split(',') as DeviceStatus[];
  if (q.model !== undefined) query.model = q.model;
  if (q.hardwareRevision !== undefined) query.hardwareRevision = q.hardwareRevision;
  if (q.hardwareId !== undefined) query.hardwareId = q.hardwareId;
  if (q.installed !== undefined) query.installedTarget = q.installed;
  if (q.installedPrefix !== undefined) query.installedTargetPrefix = q.installedPrefix;
  if (q.lastSeenFrom !== undefined) query.lastSeenFrom = new Date(q.lastSeenFrom).toISOString();
  if (q.lastSeenBefore !== undefined) {
    query.lastSeenBefore = new Date(q.lastSeenBefore).toISOString();
  }
  if (q.q !== undefined) query.deviceIdContains = q.q;
  if (q.sort !== undefined) {
    const [field, direction = 'asc'] = q.sort.split(':');
    query.sort = { field: field as DeviceSortField, direction: direction as 'asc' | 'desc' };
  }
  if (q.limit !== undefined) query.limit = Math.min(Number(q.limit), 1000);
  if (q.cursor !== undefined) query.cursor = q.cursor;
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(q)) {
    if (key.startsWith('attr.') && value !== undefined) attributes[key.slice(5)] = value;
  }
  if (Object.keys(attributes).length > 0) query.attributes = attributes;
  return query;
}
