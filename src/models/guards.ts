/**
 * Field readers for strict metadata parsing.
 *
 * Every model parses from `unknown` (the output of the strict JSON parser) by taking the fields it
 * knows out of a copy of the object; whatever is left is kept as `unrecognized` and written back
 * on serialization (TUF spec, "Document formats": unrecognized fields must be preserved, so that
 * metadata made by another implementation re-serializes to the same canonical bytes).
 *
 * Each reader throws {@link FormatError} with a JSON path (`signed.roles.root.threshold`) so a
 * person can find the bad field. Pure; safe for concurrent use.
 *
 * @module
 */
import { FormatError } from '../errors.js';

/** A JSON object as produced by the strict parser. */
export type JsonObject = { [key: string]: unknown };

/** Unrecognized fields of a model object, written back verbatim on serialization. */
export type Unrecognized = Record<string, unknown>;

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A mutable view of an object's fields: `take*` methods remove the fields they read, so that
 * `rest()` returns exactly the unrecognized ones.
 */
export class FieldReader {
  private readonly fields: Map<string, unknown>;

  constructor(
    value: unknown,
    readonly path: string,
  ) {
    if (!isObject(value)) {
      throw new FormatError(`${path} must be a JSON object, got ${describe(value)}`, { path });
    }
    this.fields = new Map(Object.entries(value));
  }

  private at(key: string): string {
    return fieldPath(this.path, key);
  }

  /** Take a required field of any type. */
  take(key: string): unknown {
    if (!this.fields.has(key)) {
      throw new FormatError(`${this.at(key)} is required but missing`, { path: this.at(key) });
    }
    const value = this.fields.get(key);
    this.fields.delete(key);
    return value;
  }

  /** Take an optional field; `undefined` when absent. */
  takeOptional(key: string): unknown {
    const value = this.fields.get(key);
    this.fields.delete(key);
    return value;
  }

  has(key: string): boolean {
    return this.fields.has(key);
  }

  /** Path of a field, for nested readers and error messages. */
  pathOf(key: string): string {
    return this.at(key);
  }

  string(key: string): string {
    return expectString(this.take(key), this.at(key));
  }

  optionalString(key: string): string | undefined {
    const value = this.takeOptional(key);
    return value === undefined ? undefined : expectString(value, this.at(key));
  }

  boolean(key: string): boolean {
    const value = this.take(key);
    if (typeof value !== 'boolean') {
      throw new FormatError(`${this.at(key)} must be true or false, got ${describe(value)}`, {
        path: this.at(key),
      });
    }
    return value;
  }

  /** A non-negative safe integer, at least `min`. */
  integer(key: string, min = 0): number {
    return expectInteger(this.take(key), this.at(key), min);
  }

  optionalInteger(key: string, min = 0): number | undefined {
    const value = this.takeOptional(key);
    return value === undefined ? undefined : expectInteger(value, this.at(key), min);
  }

  object(key: string): JsonObject {
    const value = this.take(key);
    if (!isObject(value)) {
      throw new FormatError(`${this.at(key)} must be a JSON object, got ${describe(value)}`, {
        path: this.at(key),
      });
    }
    return value;
  }

  stringArray(key: string): string[] {
    return expectStringArray(this.take(key), this.at(key));
  }

  optionalStringArray(key: string): string[] | undefined {
    const value = this.takeOptional(key);
    return value === undefined ? undefined : expectStringArray(value, this.at(key));
  }

  /** The fields nobody took: the unrecognized ones. */
  rest(): Unrecognized {
    return Object.fromEntries(this.fields);
  }
}

/** `parent.key` for identifier-like keys, `parent["key"]` for any other. */
export function fieldPath(parent: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? `${parent}.${key}`
    : `${parent}[${JSON.stringify(key)}]`;
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') {
    throw new FormatError(`${path} must be a string, got ${describe(value)}`, { path });
  }
  return value;
}

export function expectInteger(value: unknown, path: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new FormatError(`${path} must be an integer >= ${min}, got ${describe(value)}`, { path });
  }
  return value;
}

export function expectStringArray(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) {
    throw new FormatError(`${path} must be an array of strings, got ${describe(value)}`, { path });
  }
  for (const [i, item] of value.entries()) expectString(item, `${path}[${i}]`);
  return value as string[];
}

/** A map from string to lowercase hex digest; at least one entry. */
export function expectHashes(value: unknown, path: string): Record<string, string> {
  if (!isObject(value)) {
    throw new FormatError(
      `${path} must be an object of hash algorithm to hex digest, got ${describe(value)}`,
      {
        path,
      },
    );
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    throw new FormatError(`${path} must list at least one hash`, { path });
  }
  const hashes: Record<string, string> = {};
  for (const [algorithm, digest] of entries) {
    const digestPath = fieldPath(path, algorithm);
    if (typeof digest !== 'string' || !/^[0-9a-fA-F]+$/.test(digest)) {
      throw new FormatError(`${digestPath} must be a hex digest, got ${describe(digest)}`, {
        path: digestPath,
      });
    }
    hashes[algorithm] = digest;
  }
  return hashes;
}

/** A short description of a value for error messages; never echoes large input. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string "${value.slice(0, 40)}…"` : `"${value}"`;
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    default:
      return `a ${typeof value}`;
  }
}

/**
 * `record[key]` only when `key` is the record's own property: plain objects inherit
 * `constructor`, `toString`, … and a target path or role name may be any string.
 */
export function getOwn<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
