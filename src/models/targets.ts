/**
 * `Targets`: the files a targets role vouches for and the roles it delegates to (TUF spec,
 * "Document formats", targets.json). Used both for the top-level `targets` role and for
 * delegated roles.
 *
 * Pure; safe for concurrent reads.
 *
 * @module
 */

import { Delegations } from './delegations.js';
import { FieldReader, fieldPath, getOwn, type JsonPath, setOwn } from './guards.js';
import { Signed, type SignedOptions } from './signed.js';
import { TargetFile } from './target-file.js';

/** Constructor options of {@link Targets}. */
export interface TargetsOptions extends SignedOptions {
  targets?: Record<string, TargetFile>;
  delegations?: Delegations;
}

/**
 * A targets role's signed portion.
 *
 * @example
 * ```ts
 * const targets = new Targets({ expires: new Date('2030-01-01T00:00:00Z') });
 * targets.addTarget(new TargetFile('firmware/1.0.0.img', 1024, { sha256: '…' }));
 * ```
 */
export class Targets extends Signed {
  readonly type = 'targets' as const;
  /** Target path → target file info. Look up with {@link Targets.getTarget}. */
  targets: Record<string, TargetFile>;
  delegations: Delegations | undefined;

  constructor(options: TargetsOptions = {}) {
    super(options);
    this.targets = options.targets ?? {};
    this.delegations = options.delegations;
  }

  static fromJSON(value: unknown, path: JsonPath = 'signed'): Targets {
    const reader = new FieldReader(value, path);
    const common = Signed.readCommon(reader, 'targets');
    const targetsJson = reader.object('targets');
    // A plain loop with paths built only on error: a hash bin or a large targets role lists
    // up to hundreds of thousands of entries.
    const targets: Record<string, TargetFile> = {};
    for (const targetPath in targetsJson) {
      if (!Object.hasOwn(targetsJson, targetPath)) continue;
      const entry = targetsJson[targetPath];
      const target =
        TargetFile.fromCommonJSON(targetPath, entry) ??
        TargetFile.fromJSON(targetPath, entry, () =>
          fieldPath(`${reader.path}.targets`, targetPath),
        );
      setOwn(targets, targetPath, target);
    }
    const delegationsJson = reader.takeOptional('delegations');
    const delegations =
      delegationsJson === undefined
        ? undefined
        : Delegations.fromJSON(delegationsJson, `${reader.path}.delegations`);
    return new Targets({ ...common, targets, delegations, unrecognized: reader.rest() });
  }

  override toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      ...this.unrecognized,
      ...this.commonJSON(),
      targets: Object.fromEntries(Object.entries(this.targets).map(([p, t]) => [p, t.toJSON()])),
    };
    if (this.delegations !== undefined) json.delegations = this.delegations.toJSON();
    return json;
  }

  /** The target at `targetPath` if this role lists it. */
  getTarget(targetPath: string): TargetFile | undefined {
    return getOwn(this.targets, targetPath);
  }

  /** Add or replace a target. */
  addTarget(target: TargetFile): void {
    Object.defineProperty(this.targets, target.path, {
      value: target,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }

  /** Remove a target; true when it was listed. */
  removeTarget(targetPath: string): boolean {
    if (!Object.hasOwn(this.targets, targetPath)) return false;
    delete this.targets[targetPath];
    return true;
  }
}
