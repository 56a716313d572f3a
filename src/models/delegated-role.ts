/**
 * Delegated targets roles: `DelegatedRole` (by path patterns or path hash prefixes) and
 * `SuccinctRoles` (TAP 15 hash-bin delegation), as a targets role's `delegations` lists them
 * (TUF spec, "Document formats", targets.json `delegations`).
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../errors.js';
import { FieldReader, type Unrecognized } from './guards.js';
import { isTargetInPathPattern } from './path-pattern.js';
import { Role, uniqueKeyIds } from './role.js';
import { TOP_LEVEL_ROLE_NAMES } from './signed.js';

/** Constructor options of {@link DelegatedRole}. */
export interface DelegatedRoleOptions {
  name: string;
  keyids: string[];
  threshold: number;
  terminating?: boolean;
  paths?: string[];
  pathHashPrefixes?: string[];
  unrecognized?: Unrecognized;
}

/** Check a delegated role name: non-empty, not a top-level role name. */
export function checkDelegatedRoleName(name: string, path = 'name'): string {
  if (name.length === 0)
    throw new FormatError(`${path}: a delegated role name must not be empty`, { path });
  if ((TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name)) {
    throw new FormatError(`${path}: "${name}" is a top-level role name and cannot be delegated`, {
      path,
    });
  }
  return name;
}

/** A role delegated by name, trusted for the targets its `paths` or `path_hash_prefixes` match. */
export class DelegatedRole extends Role {
  name: string;
  terminating: boolean;
  /** Shell-style patterns (`firmware/*`); exactly one of `paths` and `pathHashPrefixes` is set. */
  paths: string[] | undefined;
  /** Hex prefixes of sha256(target path). */
  pathHashPrefixes: string[] | undefined;

  constructor(options: DelegatedRoleOptions) {
    super(options.keyids, options.threshold, options.unrecognized ?? {});
    this.name = checkDelegatedRoleName(options.name);
    this.terminating = options.terminating ?? false;
    if ((options.paths === undefined) === (options.pathHashPrefixes === undefined)) {
      throw new FormatError(
        `delegated role "${options.name}" must have exactly one of paths and path_hash_prefixes`,
      );
    }
    this.paths = options.paths;
    this.pathHashPrefixes = options.pathHashPrefixes;
  }

  static override fromJSON(value: unknown, path = 'role'): DelegatedRole {
    const reader = new FieldReader(value, path);
    const name = checkDelegatedRoleName(reader.string('name'), reader.pathOf('name'));
    const keyids = uniqueKeyIds(reader.stringArray('keyids'), reader.pathOf('keyids'));
    const threshold = reader.integer('threshold', 1);
    const terminating = reader.boolean('terminating');
    const paths = reader.optionalStringArray('paths');
    const pathHashPrefixes = reader.optionalStringArray('path_hash_prefixes');
    if ((paths === undefined) === (pathHashPrefixes === undefined)) {
      throw new FormatError(`${path} must have exactly one of paths and path_hash_prefixes`, {
        path,
      });
    }
    return new DelegatedRole({
      name,
      keyids,
      threshold,
      terminating,
      paths,
      pathHashPrefixes,
      unrecognized: reader.rest(),
    });
  }

  override toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      ...super.toJSON(),
      name: this.name,
      terminating: this.terminating,
    };
    if (this.paths !== undefined) json.paths = [...this.paths];
    if (this.pathHashPrefixes !== undefined) json.path_hash_prefixes = [...this.pathHashPrefixes];
    return json;
  }

  /** True when this role is trusted for `targetPath` (TUF 5.6.7.2). */
  isDelegatedPath(targetPath: string): boolean {
    if (this.paths !== undefined) {
      return this.paths.some((pattern) => isTargetInPathPattern(targetPath, pattern));
    }
    const digest = sha256Hex(targetPath);
    return (this.pathHashPrefixes ?? []).some((prefix) => digest.startsWith(prefix));
  }
}

/** Constructor options of {@link SuccinctRoles}. */
export interface SuccinctRolesOptions {
  keyids: string[];
  threshold: number;
  bitLength: number;
  namePrefix: string;
  unrecognized?: Unrecognized;
}

/**
 * TAP 15 succinct hash-bin delegation: `2^bit_length` bins named `PREFIX-XYZ` (lowercase hex,
 * zero-padded), all sharing one key set; a target goes to the bin given by the first `bit_length`
 * bits of sha256(target path).
 */
export class SuccinctRoles extends Role {
  bitLength: number;
  namePrefix: string;

  constructor(options: SuccinctRolesOptions) {
    super(options.keyids, options.threshold, options.unrecognized ?? {});
    if (
      !Number.isSafeInteger(options.bitLength) ||
      options.bitLength < 1 ||
      options.bitLength > 32
    ) {
      throw new FormatError(
        `succinct_roles.bit_length must be an integer from 1 to 32, got ${options.bitLength}`,
      );
    }
    this.bitLength = options.bitLength;
    this.namePrefix = options.namePrefix;
  }

  static override fromJSON(value: unknown, path = 'succinct_roles'): SuccinctRoles {
    const reader = new FieldReader(value, path);
    const keyids = uniqueKeyIds(reader.stringArray('keyids'), reader.pathOf('keyids'));
    const threshold = reader.integer('threshold', 1);
    const bitLength = reader.integer('bit_length', 1);
    const namePrefix = reader.string('name_prefix');
    return new SuccinctRoles({
      keyids,
      threshold,
      bitLength,
      namePrefix,
      unrecognized: reader.rest(),
    });
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), bit_length: this.bitLength, name_prefix: this.namePrefix };
  }

  /** How many bins there are: 2^bit_length. */
  get numberOfBins(): number {
    return 2 ** this.bitLength;
  }

  /** Hex digits in a bin suffix. */
  get suffixLength(): number {
    return (this.numberOfBins - 1).toString(16).length;
  }

  /** The name of bin number `index`. */
  binName(index: number): string {
    return `${this.namePrefix}-${index.toString(16).padStart(this.suffixLength, '0')}`;
  }

  /** The name of the bin that `targetPath` belongs to. */
  getRoleForTarget(targetPath: string): string {
    const digest = createHash('sha256').update(targetPath, 'utf8').digest();
    const index = digest.readUInt32BE(0) >>> (32 - this.bitLength);
    return this.binName(index);
  }

  /** Every bin name, in order. */
  *getRoles(): Generator<string> {
    for (let i = 0; i < this.numberOfBins; i++) yield this.binName(i);
  }

  /** True when `roleName` is one of these bins. */
  isDelegatedRole(roleName: string): boolean {
    const prefix = `${this.namePrefix}-`;
    if (!roleName.startsWith(prefix)) return false;
    const suffix = roleName.slice(prefix.length);
    if (suffix.length !== this.suffixLength || !/^[0-9a-f]+$/.test(suffix)) return false;
    return Number.parseInt(suffix, 16) < this.numberOfBins;
  }
}

/** Lowercase hex sha256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
