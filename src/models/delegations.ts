/**
 * `Delegations`: the keys and roles a targets role delegates to, either as an ordered list of
 * {@link DelegatedRole}s or as TAP 15 {@link SuccinctRoles} (TUF spec, "Document formats").
 *
 * Pure; safe for concurrent reads.
 *
 * @module
 */
import { FormatError } from '../errors.js';
import { DelegatedRole, SuccinctRoles } from './delegated-role.js';
import { FieldReader, fieldPath, type Unrecognized } from './guards.js';
import { Key } from './key.js';

/** Constructor options of {@link Delegations}. */
export interface DelegationsOptions {
  keys?: Record<string, Key>;
  roles?: DelegatedRole[];
  succinctRoles?: SuccinctRoles;
  unrecognized?: Unrecognized;
}

/** A role the search may visit next, in delegation order. */
export interface RoleForTarget {
  name: string;
  terminating: boolean;
}

/** What a targets role delegates: keys plus either `roles` or `succinct_roles`. */
export class Delegations {
  keys: Record<string, Key>;
  /** In delegation order: the order the client searches them (TUF 5.6.7.2). */
  roles: DelegatedRole[] | undefined;
  succinctRoles: SuccinctRoles | undefined;
  unrecognized: Unrecognized;

  constructor(options: DelegationsOptions = {}) {
    this.keys = options.keys ?? {};
    if (options.roles !== undefined && options.succinctRoles !== undefined) {
      throw new FormatError('delegations must have either roles or succinct_roles, not both');
    }
    this.roles = options.succinctRoles === undefined ? (options.roles ?? []) : undefined;
    this.succinctRoles = options.succinctRoles;
    this.unrecognized = options.unrecognized ?? {};
    if (this.roles !== undefined) checkUniqueNames(this.roles, 'delegations.roles');
  }

  static fromJSON(value: unknown, path = 'delegations'): Delegations {
    const reader = new FieldReader(value, path);
    const keysJson = reader.object('keys');
    const keys: Record<string, Key> = Object.fromEntries(
      Object.entries(keysJson).map(([keyid, k]) => [
        keyid,
        Key.fromJSON(k, fieldPath(`${path}.keys`, keyid)),
      ]),
    );
    const rolesJson = reader.takeOptional('roles');
    const succinctJson = reader.takeOptional('succinct_roles');
    if ((rolesJson === undefined) === (succinctJson === undefined)) {
      throw new FormatError(`${path} must have exactly one of roles and succinct_roles`, { path });
    }
    let roles: DelegatedRole[] | undefined;
    if (rolesJson !== undefined) {
      if (!Array.isArray(rolesJson)) {
        throw new FormatError(`${path}.roles must be an array`, { path: `${path}.roles` });
      }
      roles = rolesJson.map((r, i) => DelegatedRole.fromJSON(r, `${path}.roles[${i}]`));
      checkUniqueNames(roles, `${path}.roles`);
    }
    const succinctRoles =
      succinctJson === undefined
        ? undefined
        : SuccinctRoles.fromJSON(succinctJson, `${path}.succinct_roles`);
    return new Delegations({ keys, roles, succinctRoles, unrecognized: reader.rest() });
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      ...this.unrecognized,
      keys: Object.fromEntries(Object.entries(this.keys).map(([id, key]) => [id, key.toJSON()])),
    };
    if (this.roles !== undefined) json.roles = this.roles.map((r) => r.toJSON());
    if (this.succinctRoles !== undefined) json.succinct_roles = this.succinctRoles.toJSON();
    return json;
  }

  /** The roles trusted for `targetPath`, in the order the search must visit them. */
  *getRolesForTarget(targetPath: string): Generator<RoleForTarget> {
    if (this.roles !== undefined) {
      for (const role of this.roles) {
        if (role.isDelegatedPath(targetPath))
          yield { name: role.name, terminating: role.terminating };
      }
    } else if (this.succinctRoles !== undefined) {
      // A hash bin is the only role that can hold the target: nothing after it to search.
      yield { name: this.succinctRoles.getRoleForTarget(targetPath), terminating: true };
    }
  }

  /** The key ids and threshold for delegated role `name`, or `undefined` when not delegated here. */
  getRole(name: string): DelegatedRole | SuccinctRoles | undefined {
    if (this.roles !== undefined) return this.roles.find((r) => r.name === name);
    return this.succinctRoles?.isDelegatedRole(name) ? this.succinctRoles : undefined;
  }

  /** Authorize `key` for the delegated role `roleName` (or every bin, with `roleName` omitted). */
  addKey(key: Key, roleName?: string): string {
    const keyid = key.keyId();
    const role =
      roleName === undefined ? this.succinctRoles : this.roles?.find((r) => r.name === roleName);
    if (role === undefined)
      throw new FormatError(`no delegated role ${roleName ?? '(succinct bins)'} to add a key to`);
    this.keys = Object.fromEntries([...Object.entries(this.keys), [keyid, key]]);
    if (!role.keyids.includes(keyid)) role.keyids.push(keyid);
    return keyid;
  }
}

function checkUniqueNames(roles: DelegatedRole[], path: string): void {
  const seen = new Set<string>();
  for (const role of roles) {
    if (seen.has(role.name))
      throw new FormatError(`${path} lists role "${role.name}" twice`, { path });
    seen.add(role.name);
  }
}
