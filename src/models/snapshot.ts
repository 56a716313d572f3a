/**
 * `Snapshot`: the versions (and maybe lengths and hashes) of every targets metadata file, so that
 * a client never mixes files from different repository states (TUF spec, "Document formats",
 * snapshot.json; mix-and-match protection).
 *
 * Pure; safe for concurrent reads.
 *
 * @module
 */
import { FieldReader, fieldPath, setOwn } from './guards.js';
import { MetaFile } from './meta-file.js';
import { Signed, type SignedOptions } from './signed.js';

/** Constructor options of {@link Snapshot}. */
export interface SnapshotOptions extends SignedOptions {
  meta?: Record<string, MetaFile>;
}

/** The snapshot role's signed portion. */
export class Snapshot extends Signed {
  readonly type = 'snapshot' as const;
  /** `ROLE.json` → what snapshot says about that targets metadata file. */
  meta: Record<string, MetaFile>;

  constructor(options: SnapshotOptions = {}) {
    super(options);
    this.meta = options.meta ?? { 'targets.json': new MetaFile(1) };
  }

  static fromJSON(value: unknown, path = 'signed'): Snapshot {
    const reader = new FieldReader(value, path);
    const common = Signed.readCommon(reader, 'snapshot');
    const metaJson = reader.object('meta');
    // fromEntries, not assignment: a role named "__proto__" must stay an own property.
    // Paths are built only on error: a snapshot of hash bins lists thousands of files.
    const meta: Record<string, MetaFile> = {};
    for (const name in metaJson) {
      if (!Object.hasOwn(metaJson, name)) continue;
      const entry = metaJson[name];
      setOwn(
        meta,
        name,
        MetaFile.fromCommonJSON(entry) ??
          MetaFile.fromJSON(entry, () => fieldPath(`${path}.meta`, name)),
      );
    }
    return new Snapshot({ ...common, meta, unrecognized: reader.rest() });
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...this.unrecognized,
      ...this.commonJSON(),
      meta: Object.fromEntries(Object.entries(this.meta).map(([name, m]) => [name, m.toJSON()])),
    };
  }
}
