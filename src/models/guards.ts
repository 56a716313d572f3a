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
 * A JSON path for error messages (`signed.targets["a/b"].length`), or a function that builds it.
 * Paths are only read when something is wrong, so hot loops (100,000 targets) pass a function
 * and never build the string for valid input.
 */
export type JsonPath = string | (() => string);

/** The path string of `path`, built now if it was deferred. */
export function resolvePath(path: JsonPath): string {
  return typeof path === 'string' ? path : path();
}

/**
 * A view of an object's fields: `take*` methods mark the fields they read, so that `rest()`
 * returns exactly the unrecognized ones. Reads the object in place (no copy); the object must
 * not change while the reader is in use.
 */
export class FieldReader {
  readonly #value: JsonObject;
  #path: JsonPath;
  /** Keys taken so far; objects have a handful of fields, so a linear scan beats a Set. */
  readonly #taken: string[] = [];

  constructor(value: unknown, path: JsonPath) {
    if (!isObject(value)) {
      const at = resolvePath(path);
      throw new FormatError(`${at} must be a JSON object, got ${describe(value)}`, { path: at });
    }
    this.#value = value;
    this.#path = path;
  }

  /** The JSON path of the object read (built on first use). */
  get path(): string {
    if (typeof this.#path !== 'string') this.#path = this.#path();
    return this.#path;
  }

  private at(key: string): string {
    return fieldPath(this.path, key);
  }

  /** Take a required field of any type. */
  take(key: string): unknown {
    if (!this.has(key)) {
      throw new FormatError(`${this.at(key)} is required but missing`, { path: this.at(key) });
    }
    this.#taken.push(key);
    return this.#value[key];
  }

  /** Take an optional field; `undefined` when absent. */
  takeOptional(key: string): unknown {
    if (!this.has(key)) return undefined;
    this.#taken.push(key);
    return this.#value[key];
  }

  /** True when the object has `key` and it was not taken yet. */
  has(key: string): boolean {
    return Object.hasOwn(this.#value, key) && !this.#taken.includes(key);
  }

  /** Path of a field, for nested readers and error messages. */
  pathOf(key: string): string {
    return this.at(key);
  }

  /** {@link FieldReader.pathOf}, deferred until an error message needs it. */
  lazyPathOf(key: string): () => string {
    return () => this.at(key);
  }

  string(key: string): string {
    const value = this.take(key);
    return typeof value === 'string' ? value : expectString(value, this.at(key));
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
    return expectInteger(this.take(key), this.lazyPathOf(key), min);
  }

  optionalInteger(key: string, min = 0): number | undefined {
    const value = this.takeOptional(key);
    return value === undefined ? undefined : expectInteger(value, this.lazyPathOf(key), min);
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

  /** The fields nobody took: the unrecognized ones, in the object's order. */
  rest(): Unrecognized {
    const rest: Unrecognized = {};
    const value = this.#value;
    const taken = this.#taken;
    for (const key in value) {
      if (!Object.hasOwn(value, key) || taken.includes(key)) continue;
      setOwn(rest, key, value[key]);
    }
    return rest;
  }
}

/**
 * `record[key] = value` as an own data property even for the key `__proto__` (plain
 * assignment would set the prototype instead): target paths and role names may be any string.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    record[key] = value;
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

/** True for a safe integer of at least `min`: what {@link expectInteger} accepts. */
export function isInteger(value: unknown, min = 0): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

export function expectInteger(value: unknown, path: JsonPath, min = 0): number {
  if (!isInteger(value, min)) {
    const at = resolvePath(path);
    throw new FormatError(`${at} must be an integer >= ${min}, got ${describe(value)}`, {
      path: at,
    });
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

/**
 * A map from hash algorithm to hex digest; at least one entry. Returns `value` itself once
 * checked (no copy: a targets role lists one such map per target).
 */
export function expectHashes(value: unknown, path: JsonPath): Record<string, string> {
  if (!isObject(value)) {
    const at = resolvePath(path);
    throw new FormatError(
      `${at} must be an object of hash algorithm to hex digest, got ${describe(value)}`,
      { path: at },
    );
  }
  let count = 0;
  for (const algorithm in value) {
    if (!Object.hasOwn(value, algorithm)) continue;
    count++;
    const digest = value[algorithm];
    if (typeof digest !== 'string' || !isHex(digest)) {
      const digestPath = fieldPath(resolvePath(path), algorithm);
      throw new FormatError(`${digestPath} must be a hex digest, got ${describe(digest)}`, {
        path: digestPath,
      });
    }
  }
  if (count === 0) {
    const at = resolvePath(path);
    throw new FormatError(`${at} must list at least one hash`, { path: at });
  }
  return value as Record<string, string>;
}

/**
 * True for a valid hashes map (what {@link expectHashes} accepts), without building an error:
 * the one-pass readers of common entry shapes use it and fall back to the field-by-field
 * reader, which names what is wrong.
 */
export function isHashes(value: unknown): value is Record<string, string> {
  if (!isObject(value)) return false;
  let count = 0;
  for (const algorithm in value) {
    if (!Object.hasOwn(value, algorithm)) return false;
    const digest = value[algorithm];
    if (typeof digest !== 'string' || !isHex(digest)) return false;
    count++;
  }
  return count > 0;
}

/** True for a non-empty string of hex digits (either case); a char loop, no regex. */
export function isHex(text: string): boolean {
  const length = text.length;
  if (length === 0) return false;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    // 0-9, A-F, a-f
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return false;
  }
  return true;
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
