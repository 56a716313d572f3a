/**
 * `FleetStore`: the fleet server's data layer, neutral between its two implementations
 * (`SqliteFleetStore`, the embedded default on `better-sqlite3`; `PostgresFleetStore` on `pg`),
 * which one shared test suite holds to the same behaviour.
 *
 * What it keeps:
 * - **devices**: identity, status (pending → accepted | rejected → decommissioned), model,
 *   hardware revision and ids, addresses, reported attributes, first and last contact, and the
 *   credential each was provisioned with;
 * - **the director's inventory** ({@link FleetStore.inventory}: the Uptane `InventoryStore`, so a
 *   `Director` runs on this store), whose ECU rows (serial, hardware id, installed image) are
 *   also queryable ("every device still running `fw/gw-1.2.0.img`");
 * - **device events** (manifests accepted or refused, phase reports, status changes, assignments)
 *   and **deployment logs** per device and correlation id, with retention;
 * - **people**: users with one role each, API tokens (only their SHA-256 at rest, scoped,
 *   expiring, revocable), short-lived device tokens and single-use challenges;
 * - **the audit log**: append-only and hash-chained (`audit-chain.ts`); every write that takes an
 *   {@link AuditInput} commits its audit entry in the same transaction, so a write is never
 *   without its entry and an entry never without its write.
 *
 * Rules every implementation keeps:
 * - every value reaches SQL as a bound parameter; sort keys and filter fields are closed enums
 *   mapped to column expressions, never interpolated from input;
 * - each method is atomic (one transaction) and safe for concurrent use from one process; the
 *   audit chain stays linear under concurrent writers (one writer lock on the chain head);
 * - times are ISO 8601 strings in UTC (`2026-12-04T18:00:00.000Z`) passed in by the caller: the
 *   store never reads the clock, so tests and the server decide what "now" is; every time is
 *   stored (and returned) in `toISOString()` form so that text comparison orders them;
 * - input is validated before SQL (`validation.ts`): ids ≤ 256 characters, no NUL characters,
 *   attribute names `[A-Za-z0-9_.-]{1,64}` with values ≤ 256 characters, SHA-256 values as
 *   lower-case hex, JSON values capped (64 KiB; audit before/after 256 KiB); a refusal is
 *   `ERR_TUF_FLEET_BAD_REQUEST` (or `ERR_TUF_FLEET_TOO_LARGE` for a cap) and writes nothing;
 * - not-found is `undefined` (reads) or a `FleetError` with code `ERR_TUF_FLEET_NOT_FOUND`
 *   (writes); a duplicate id is `ERR_TUF_FLEET_CONFLICT`.
 *
 * @module
 */
import type { PublicKeyData } from '../../crypto/index.js';
import type { InventoryStore } from '../../uptane/director/inventory.js';

/** Lifecycle of a device in the fleet. */
export type DeviceStatus = 'pending' | 'accepted' | 'rejected' | 'decommissioned';

/** How a device proved who it is when it first registered. */
export type ProvisioningMode = 'mtls' | 'device-key' | 'manual' | 'shared-key';

/** One device (an Uptane vehicle: one primary ECU, any number of secondaries). */
export interface FleetDevice {
  deviceId: string;
  status: DeviceStatus;
  provisioning: ProvisioningMode;
  /** The device key that signs challenges (device-key, manual and shared-key modes). */
  publicKey?: PublicKeyData;
  /** SHA-256 (hex) of the DER client certificate last presented (mtls mode). */
  certificateSha256?: string;
  model?: string;
  hardwareRevision?: string;
  /** Hardware ids of its ECUs (the primary's first). */
  hardwareIds: string[];
  /** Network addresses seen (most recent first, at most 8). */
  addresses: string[];
  /** Free key/value attributes the device reports or an operator sets (`site=oslo`). */
  attributes: Record<string, string>;
  createdAt: string;
  firstSeen?: string;
  lastSeen?: string;
}

/** One ECU's row, derived from the director's inventory record (read-only here). */
export interface FleetEcu {
  deviceId: string;
  ecuSerial: string;
  hardwareId: string;
  primary: boolean;
  /** What the ECU last reported in a verified manifest (or was provisioned with). */
  installedTarget?: string;
  installedLength?: number;
  installedSha256?: string;
  /** The director's current assignment for this ECU, if any. */
  assignedTarget?: string;
  correlationId?: string;
}

/** A device with its ECUs (the admin API's device detail). */
export interface FleetDeviceDetail extends FleetDevice {
  ecus: FleetEcu[];
}

/** Fields an inventory query can sort on. */
export type DeviceSortField = 'deviceId' | 'lastSeen' | 'firstSeen' | 'createdAt' | 'status';

/**
 * A device query: every given condition must hold (AND). Built by the admin API from query
 * parameters or from a saved group expression; never raw SQL.
 */
export interface DeviceQuery {
  /** Any of these statuses (an empty list: no condition). */
  status?: DeviceStatus[];
  model?: string;
  hardwareRevision?: string;
  /** Any ECU of the device (director inventory) or its registered `hardwareIds` has this id. */
  hardwareId?: string;
  /** Attribute equality, all must match (`{site: 'oslo'}`). */
  attributes?: Record<string, string>;
  /** Any ECU reports exactly this installed target path. */
  installedTarget?: string;
  /** Any ECU reports an installed target path starting with this prefix. */
  installedTargetPrefix?: string;
  /**
   * Last contact at or after / strictly before these times (ISO 8601); a device never seen
   * matches neither.
   */
  lastSeenFrom?: string;
  lastSeenBefore?: string;
  /** Substring of the device id. */
  deviceIdContains?: string;
  sort?: { field: DeviceSortField; direction: 'asc' | 'desc' };
  /** 1–1000, default 100. */
  limit?: number;
  /**
   * The opaque `nextCursor` of the previous page (keyset on sort key + device id, stable under
   * inserts); one that does not decode or was issued for another sort is `BAD_REQUEST`.
   */
  cursor?: string;
}

/** One page of results. `nextCursor` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Kinds of device events. */
export type DeviceEventKind =
  | 'registered'
  | 'status'
  | 'manifest'
  | 'manifest-refused'
  | 'assignment'
  | 'phase';

/** One entry of a device's update history. */
export interface DeviceEvent {
  id: number;
  deviceId: string;
  kind: DeviceEventKind;
  /** The update (director correlation id or agent update id) it belongs to, if any. */
  correlationId?: string;
  at: string;
  /** Kind-specific JSON (a phase report, a refusal `{code, attack, message}`, …), ≤ 64 KiB. */
  data: Record<string, unknown>;
}

/** A chunk of a device's deployment log. */
export interface DeviceLog {
  id: number;
  deviceId: string;
  correlationId: string;
  at: string;
  /** The lines as uploaded (each ≤ 4 KiB, ≤ 1000 per chunk). */
  lines: string[];
}

/** Roles of people. An admin may do everything; operator and releaser include viewer. */
export type UserRole = 'viewer' | 'operator' | 'releaser' | 'admin';

export interface FleetUser {
  userId: string;
  name: string;
  role: UserRole;
  createdAt: string;
  disabledAt?: string;
}

/** What a token may do; a token never exceeds its user's role. */
export type TokenScope = 'read' | 'devices' | 'releases' | 'admin';

/** An API token; the secret itself is never stored, only `sha256`. */
export interface ApiToken {
  tokenId: string;
  /** The user the token acts for, or, for device tokens, absent. */
  userId?: string;
  /** For device tokens: the device it authenticates. */
  deviceId?: string;
  /** Hex SHA-256 of the secret. */
  sha256: string;
  scopes: TokenScope[];
  description?: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

/** A single-use challenge a device signs to prove possession of its key. */
export interface DeviceChallenge {
  challengeId: string;
  deviceId: string;
  /** base64 random bytes the device signs. */
  nonce: string;
  createdAt: string;
  expiresAt: string;
}

/** Who did what, for the audit log (the store adds sequence, time and chain hashes). */
export interface AuditInput {
  /** `user:<id>`, `token:<id>`, `device:<id>`, `system`. */
  actor: string;
  /** `device.accept`, `user.create`, `token.revoke`, … */
  action: string;
  /** What was acted on (`device:vin-1`). */
  subject: string;
  /** Client address. */
  from?: string;
  at: string;
  /**
   * Plain JSON (what `JSON.stringify` keeps), hashed as canonical JSON: strings, integers,
   * booleans, null, arrays, objects — a fractional number is refused (`BAD_REQUEST`).
   */
  before?: unknown;
  after?: unknown;
}

/** One audit log row. `hash` = SHA-256 over the canonical JSON of the row without `hash`. */
export interface AuditEntry extends AuditInput {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The data layer of the fleet server. */
export interface FleetStore {
  /** Apply pending versioned migrations (idempotent); returns the schema version now in place. */
  migrate(): Promise<number>;
  close(): Promise<void>;

  /** The director's inventory, persisted in this store. */
  readonly inventory: InventoryStore;

  // Devices
  createDevice(device: FleetDevice, audit?: AuditInput): Promise<void>;
  getDevice(deviceId: string): Promise<FleetDeviceDetail | undefined>;
  /** Replace the given fields; returns the device after the change. */
  updateDevice(
    deviceId: string,
    patch: Partial<Omit<FleetDevice, 'deviceId' | 'createdAt'>>,
    audit?: AuditInput,
  ): Promise<FleetDevice>;
  findDeviceByCertificate(sha256: string): Promise<FleetDevice | undefined>;
  /** Set `lastSeen` (and `firstSeen` once) and remember the address. */
  recordContact(deviceId: string, at: string, address?: string): Promise<void>;
  listDevices(query: DeviceQuery): Promise<Page<FleetDeviceDetail>>;
  /** Every matching device, in pages internally (for CSV/JSON export). */
  exportDevices(query: Omit<DeviceQuery, 'limit' | 'cursor'>): AsyncIterable<FleetDeviceDetail>;

  // History and logs
  appendEvent(event: Omit<DeviceEvent, 'id'>): Promise<DeviceEvent>;
  /** Oldest first; `cursor` is the previous page's `nextCursor`. */
  listEvents(
    deviceId: string,
    options?: { correlationId?: string; limit?: number; cursor?: string },
  ): Promise<Page<DeviceEvent>>;
  appendLog(log: Omit<DeviceLog, 'id'>): Promise<DeviceLog>;
  /** Oldest first; `cursor` is the previous page's `nextCursor`. */
  listLogs(
    deviceId: string,
    options?: { correlationId?: string; limit?: number; cursor?: string },
  ): Promise<Page<DeviceLog>>;
  /** Delete logs older than `olderThan`, and beyond the newest `keepPerDevice` chunks. */
  pruneLogs(policy: { olderThan?: string; keepPerDevice?: number }): Promise<number>;

  // People
  createUser(user: FleetUser, audit?: AuditInput): Promise<void>;
  getUser(userId: string): Promise<FleetUser | undefined>;
  listUsers(): Promise<FleetUser[]>;
  updateUser(
    userId: string,
    patch: Partial<Pick<FleetUser, 'name' | 'role' | 'disabledAt'>>,
    audit?: AuditInput,
  ): Promise<FleetUser>;
  createToken(token: ApiToken, audit?: AuditInput): Promise<void>;
  findTokenBySha256(sha256: string): Promise<ApiToken | undefined>;
  listTokens(filter: { userId?: string; deviceId?: string }): Promise<ApiToken[]>;
  /** Idempotent: revoking a revoked token keeps the first `revokedAt` (and is still audited). */
  revokeToken(tokenId: string, at: string, audit?: AuditInput): Promise<ApiToken>;
  touchToken(tokenId: string, at: string): Promise<void>;

  // Device authentication
  createChallenge(challenge: DeviceChallenge): Promise<void>;
  /**
   * Take a challenge out, once: the first call returns it (if `at` is before `expiresAt`), every
   * later call `undefined` — a replayed answer finds nothing to answer. Of concurrent calls
   * exactly one gets it.
   */
  consumeChallenge(challengeId: string, at: string): Promise<DeviceChallenge | undefined>;

  // Audit
  /** Append one entry on its own (for events that write nothing else, e.g. a login). */
  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /** Oldest first, after `afterSeq` (default 0); `limit` 1–10,000, default 1000. */
  listAudit(options?: { afterSeq?: number; limit?: number }): Promise<AuditEntry[]>;

  // Settings (small JSON values: retention policy, server identity)
  getSetting(key: string): Promise<unknown>;
  setSetting(key: string, value: unknown, audit?: AuditInput): Promise<void>;
}
