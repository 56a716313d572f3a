/**
 * `Root`: the trust anchor. Lists every top-level role's keys and threshold, and whether the
 * repository uses consistent snapshots (TUF spec, "Document formats", root.json).
 *
 * Pure; safe for concurrent reads.
 *
 * @module
 */
import { FormatError, InvalidStateError } from '../errors.js';
import { FieldReader, fieldPath, isObject } from './guards.js';
import { Key } from './key.js';
import { Role } from './role.js';
import {
  Signed,
  type SignedOptions,
  TOP_LEVEL_ROLE_NAMES,
  type TopLevelRoleName,
} from './signed.js';

/** Constructor options of {@link Root}. */
export interface RootOptions extends SignedOptions {
  keys?: Record<string, Key>;
  roles?: Record<TopLevelRoleName, Role>;
  consistentSnapshot?: boolean;
}

/**
 * The root role's signed portion.
 *
 * @example
 * ```ts
 * const root = new Root({ expires: new Date('2030-01-01T00:00:00Z'), consistentSnapshot: true });
 * root.addKey(Key.fromPublicKeyData(signer.publicKey), 'root');
 * ```
 */
export class Root extends Signed {
  readonly type = 'root' as const;
  /** Key id → public key, for every top-level role. */
  keys: Record<string, Key>;
  /** The four top-level roles. */
  roles: Record<TopLevelRoleName, Role>;
  /** `consistent_snapshot`; `undefined` when the field is absent (it is optional on the wire). */
  consistentSnapshot: boolean | undefined;

  constructor(options: RootOptions = {}) {
    super(options);
    this.keys = options.keys ?? {};
    this.roles = options.roles ?? {
      root: new Role([], 1),
      timestamp: new Role([], 1),
      snapshot: new Role([], 1),
      targets: new Role([], 1),
    };
    this.consistentSnapshot = options.consistentSnapshot ?? true;
  }

  static fromJSON(value: unknown, path = 'signed'): Root {
    const reader = new FieldReader(value, path);
    const common = Signed.readCommon(reader, 'root');
    const consistentRaw = reader.takeOptional('consistent_snapshot');
    if (consistentRaw !== undefined && typeof consistentRaw !== 'boolean') {
      throw new FormatError(`${path}.consistent_snapshot must be true or false`, {
        path: `${path}.consistent_snapshot`,
      });
    }
    const keysJson = reader.object('keys');
    // fromEntries, not assignment: a key id of "__proto__" must stay an own property.
    const keys: Record<string, Key> = Object.fromEntries(
      Object.entries(keysJson).map(([keyid, keyJson]) => [
        keyid,
        Key.fromJSON(keyJson, fieldPath(`${path}.keys`, keyid)),
      ]),
    );
    const rolesJson = reader.object('roles');
    const names = Object.keys(rolesJson).sort();
    const expected = [...TOP_LEVEL_ROLE_NAMES].sort();
    if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
      throw new FormatError(
        `${path}.roles must list exactly the roles root, snapshot, targets and timestamp; got ${names.join(', ') || 'none'}`,
        { path: `${path}.roles` },
      );
    }
    const roles = Object.fromEntries(
      TOP_LEVEL_ROLE_NAMES.map((name) => [
        name,
        Role.fromJSON(rolesJson[name], `${path}.roles.${name}`),
      ]),
    ) as Record<TopLevelRoleName, Role>;
    const root = new Root({ ...common, keys, roles, unrecognized: reader.rest() });
    root.consistentSnapshot = consistentRaw as boolean | undefined;
    return root;
  }

  override toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      ...this.unrecognized,
      ...this.commonJSON(),
      keys: Object.fromEntries(Object.entries(this.keys).map(([id, key]) => [id, key.toJSON()])),
      roles: Object.fromEntries(
        TOP_LEVEL_ROLE_NAMES.map((name) => [name, this.roles[name].toJSON()]),
      ),
    };
    if (this.consistentSnapshot !== undefined) json.consistent_snapshot = this.consistentSnapshot;
    return json;
  }

  /** The role `name`, which must be a top-level role. */
  getRole(name: string): Role {
    if (!(TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name)) {
      throw new InvalidStateError(
        `root does not delegate "${name}": only root, timestamp, snapshot and targets`,
      );
    }
    return this.roles[name as TopLevelRoleName];
  }

  /** Authorize `key` for `role` (adds it to `keys` if new). */
  addKey(key: Key, role: TopLevelRoleName): string {
    const keyid = key.keyId();
    this.keys[keyid] = key;
    const r = this.getRole(role);
    if (!r.keyids.includes(keyid)) r.keyids.push(keyid);
    return keyid;
  }

  /** Remove `keyid` from `role`; drop the key itself when no role uses it any more. */
  revokeKey(keyid: string, role: TopLevelRoleName): void {
    const r = this.getRole(role);
    if (!r.keyids.includes(keyid)) {
      throw new InvalidStateError(`key ${keyid} is not a ${role} key`);
    }
    r.keyids = r.keyids.filter((id) => id !== keyid);
    if (!TOP_LEVEL_ROLE_NAMES.some((name) => this.roles[name].keyids.includes(keyid))) {
      delete this.keys[keyid];
    }
  }
}

/** True when `value` looks like a root's signed portion (cheap check, not validation). */
export function looksLikeRoot(value: unknown): boolean {
  return isObject(value) && value._type === 'root';
}
