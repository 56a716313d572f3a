/**
 * `Role`: a set of trusted key ids and a threshold, as `root.roles` lists them for the top-level
 * roles (TUF spec, "Document formats", root.json). Delegated roles extend it (delegated-role.ts).
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { FormatError } from '../errors.js';
import { FieldReader, type Unrecognized } from './guards.js';

/** Key ids that may sign for a role, and how many distinct ones must. */
export class Role {
  keyids: string[];
  threshold: number;
  unrecognized: Unrecognized;

  constructor(keyids: string[], threshold: number, unrecognized: Unrecognized = {}) {
    if (new Set(keyids).size !== keyids.length) {
      throw new FormatError(`a role lists the same key id twice: ${keyids.join(', ')}`);
    }
    if (!Number.isSafeInteger(threshold) || threshold < 1) {
      throw new FormatError(`a role's threshold must be an integer >= 1, got ${threshold}`);
    }
    this.keyids = keyids;
    this.threshold = threshold;
    this.unrecognized = unrecognized;
  }

  static fromJSON(value: unknown, path = 'role'): Role {
    const reader = new FieldReader(value, path);
    const keyids = uniqueKeyIds(reader.stringArray('keyids'), reader.pathOf('keyids'));
    const threshold = reader.integer('threshold', 1);
    return new Role(keyids, threshold, reader.rest());
  }

  toJSON(): Record<string, unknown> {
    return { ...this.unrecognized, keyids: [...this.keyids], threshold: this.threshold };
  }
}

/** Refuse a key id listed twice: it would let one key count twice toward a threshold. */
export function uniqueKeyIds(keyids: string[], path: string): string[] {
  const seen = new Set<string>();
  for (const keyid of keyids) {
    if (seen.has(keyid)) {
      throw new FormatError(`${path} lists key id ${keyid} twice`, { path });
    }
    seen.add(keyid);
  }
  return keyids;
}
