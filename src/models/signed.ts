/**
 * The fields every role's `signed` portion shares: `_type`, `spec_version`, `version`,
 * `expires` (TUF spec, "Document formats", the common fields), and the unrecognized rest.
 *
 * Pure: expiry is checked against a reference time the caller passes in; the clock is never read
 * here. Safe for concurrent reads; models are plain mutable objects, so do not share one between
 * concurrent writers.
 *
 * @module
 */
import { FormatError } from '../errors.js';
import { describe, type FieldReader, type Unrecognized } from './guards.js';

/** The TUF specification version this implementation writes. */
export const SPECIFICATION_VERSION = '1.0.31';

/** The four top-level role names; delegated roles may not use them. */
export const TOP_LEVEL_ROLE_NAMES = ['root', 'timestamp', 'snapshot', 'targets'] as const;

/** One of the four top-level roles. */
export type TopLevelRoleName = (typeof TOP_LEVEL_ROLE_NAMES)[number];

/** The `_type` of each role's signed portion. */
export type SignedType = TopLevelRoleName;

const EXPIRES_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * Parse an `expires` value. The spec's format is `YYYY-MM-DDTHH:MM:SSZ` exactly: no fractions, no
 * offsets, and a real calendar date (February 30th is refused, not rolled over).
 */
export function parseExpires(value: string, path = 'expires'): Date {
  const m = EXPIRES_PATTERN.exec(value);
  if (!m) {
    throw new FormatError(`${path} must look like 2030-01-31T00:00:00Z, got ${describe(value)}`, {
      path,
    });
  }
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new FormatError(`${path} is not a real date and time: ${value}`, { path });
  }
  return date;
}

/** Format a date the way `expires` is written: whole seconds, UTC, `Z`. */
export function formatExpires(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new FormatError('expires is not a valid date');
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Check a `spec_version` string: `MAJOR.MINOR[.PATCH]`, with the major version we implement. */
export function checkSpecVersion(value: string, path = 'spec_version'): string {
  const parts = value.split('.');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new FormatError(`${path} must look like 1.0.31, got ${describe(value)}`, { path });
  }
  const supportedMajor = SPECIFICATION_VERSION.split('.')[0];
  if (parts[0] !== supportedMajor) {
    throw new FormatError(
      `${path} ${value} has major version ${parts[0]}; this client implements version ${supportedMajor}.x of the TUF specification`,
      { path },
    );
  }
  return value;
}

/** Common constructor options of every signed portion. */
export interface SignedOptions {
  version?: number;
  specVersion?: string;
  expires?: Date;
  unrecognized?: Unrecognized;
}

/**
 * Base of {@link Root}, {@link Timestamp}, {@link Snapshot} and {@link Targets}.
 */
export abstract class Signed {
  /** The `_type` field. */
  abstract readonly type: SignedType;
  /** Metadata version, an integer ≥ 1; strictly increasing per role. */
  version: number;
  /** The `spec_version` this metadata claims to follow. */
  specVersion: string;
  /** When this metadata stops being trustworthy. */
  expires: Date;
  /** Fields this implementation does not know, kept for lossless round trips. */
  unrecognized: Unrecognized;

  protected constructor(options: SignedOptions) {
    this.version = options.version ?? 1;
    this.specVersion = options.specVersion ?? SPECIFICATION_VERSION;
    this.expires = options.expires ?? new Date(Date.UTC(1970, 0, 1));
    this.unrecognized = options.unrecognized ?? {};
  }

  /**
   * True when `referenceTime` is at or past `expires` (TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5).
   *
   * @param referenceTime - the time fixed at the start of the refresh; never read the clock here.
   */
  isExpired(referenceTime: Date): boolean {
    return referenceTime.getTime() >= this.expires.getTime();
  }

  /** Read the common fields from `reader`, checking `_type`. */
  protected static readCommon(reader: FieldReader, expectedType: SignedType): SignedOptions {
    const type = reader.string('_type');
    if (type !== expectedType) {
      throw new FormatError(
        `${reader.path}._type must be "${expectedType}", got ${describe(type)}`,
        {
          path: `${reader.path}._type`,
        },
      );
    }
    const specVersion = checkSpecVersion(
      reader.string('spec_version'),
      `${reader.path}.spec_version`,
    );
    const version = reader.integer('version', 1);
    const expires = parseExpires(reader.string('expires'), `${reader.path}.expires`);
    return { specVersion, version, expires };
  }

  /** The common fields, as JSON. */
  protected commonJSON(): Record<string, unknown> {
    return {
      _type: this.type,
      spec_version: this.specVersion,
      version: this.version,
      expires: formatExpires(this.expires),
    };
  }

  /** The signed portion as a JSON value (snake_case, unrecognized fields included). */
  abstract toJSON(): Record<string, unknown>;
}
