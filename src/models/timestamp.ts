/**
 * `Timestamp`: the frequently re-signed role that names the current snapshot
 * (TUF spec, "Document formats", timestamp.json).
 *
 * Pure; safe for concurrent reads.
 *
 * @module
 */
import { FieldReader } from './guards.js';
import { MetaFile } from './meta-file.js';
import { Signed, type SignedOptions } from './signed.js';

/** Constructor options of {@link Timestamp}. */
export interface TimestampOptions extends SignedOptions {
  snapshotMeta?: MetaFile;
}

/** The timestamp role's signed portion. */
export class Timestamp extends Signed {
  readonly type = 'timestamp' as const;
  /** `meta["snapshot.json"]`: the snapshot version (and maybe length and hashes). */
  snapshotMeta: MetaFile;
  /** Other `meta` entries, kept verbatim (the spec lists only snapshot.json). */
  otherMeta: Record<string, unknown>;

  constructor(options: TimestampOptions = {}) {
    super(options);
    this.snapshotMeta = options.snapshotMeta ?? new MetaFile(1);
    this.otherMeta = {};
  }

  static fromJSON(value: unknown, path = 'signed'): Timestamp {
    const reader = new FieldReader(value, path);
    const common = Signed.readCommon(reader, 'timestamp');
    const metaReader = new FieldReader(reader.take('meta'), `${path}.meta`);
    const snapshotMeta = MetaFile.fromJSON(
      metaReader.take('snapshot.json'),
      `${path}.meta["snapshot.json"]`,
    );
    const timestamp = new Timestamp({ ...common, snapshotMeta, unrecognized: reader.rest() });
    timestamp.otherMeta = metaReader.rest();
    return timestamp;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...this.unrecognized,
      ...this.commonJSON(),
      meta: { ...this.otherMeta, 'snapshot.json': this.snapshotMeta.toJSON() },
    };
  }
}
