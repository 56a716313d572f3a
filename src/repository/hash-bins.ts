/**
 * Succinct hash-bin delegation on the repository side (TAP 15): build the `succinct_roles`
 * entry of a delegator, the empty bins, and move targets between bin layouts on a resize.
 *
 * A target belongs to the bin numbered by the first `bit_length` bits of sha256(target path), so
 * routing needs no lookup table: `SuccinctRoles.getRoleForTarget` answers it. Resizing changes
 * the bit length and therefore every bin name's suffix width or prefix bits, so it is a rebuild:
 * every target is re-routed (only its path is hashed again, never its file), every new bin is
 * signed. Old bins stay listed in snapshot (a client refuses a snapshot that drops a role it
 * listed before, TUF 5.5.5), with their last version, and their files stay served.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { InvalidStateError } from '../errors.js';
import { SuccinctRoles, type TargetFile } from '../models/index.js';

/** Largest bit length offered: 2^16 = 65,536 bins is already more files than most CDNs like per directory. */
export const MAX_BIN_BIT_LENGTH = 16;

/** Options describing a set of bins. */
export interface HashBinsLayout {
  /** Bins are named `PREFIX-XYZ`. Default `bins`. */
  namePrefix?: string;
  /** Number of bins is 2^bitLength, 1 to {@link MAX_BIN_BIT_LENGTH}. */
  bitLength: number;
}

/**
 * Check the layout and build the `succinct_roles` object.
 *
 * @throws InvalidStateError for a bit length outside 1..16.
 *
 * @example
 * ```ts
 * const succinct = makeSuccinctRoles({ bitLength: 10 }, [keyid], 1); // 1,024 bins bins-000..bins-3ff
 * ```
 */
export function makeSuccinctRoles(
  layout: HashBinsLayout,
  keyids: string[],
  threshold: number,
): SuccinctRoles {
  const { bitLength } = layout;
  if (!Number.isSafeInteger(bitLength) || bitLength < 1 || bitLength > MAX_BIN_BIT_LENGTH) {
    throw new InvalidStateError(
      `hash bins need a bit length from 1 to ${MAX_BIN_BIT_LENGTH} (2 to ${2 ** MAX_BIN_BIT_LENGTH} bins), got ${bitLength}`,
    );
  }
  return new SuccinctRoles({
    keyids: [...keyids],
    threshold,
    bitLength,
    namePrefix: layout.namePrefix ?? 'bins',
  });
}

/**
 * Group targets by the bin of `succinct` they belong to.
 *
 * @example
 * ```ts
 * for (const [bin, targets] of distributeToBins(newSuccinct, allTargets)) …
 * ```
 */
export function distributeToBins(
  succinct: SuccinctRoles,
  targets: Iterable<TargetFile>,
): Map<string, TargetFile[]> {
  const bins = new Map<string, TargetFile[]>();
  for (const target of targets) {
    const bin = succinct.getRoleForTarget(target.path);
    let list = bins.get(bin);
    if (list === undefined) {
      list = [];
      bins.set(bin, list);
    }
    list.push(target);
  }
  return bins;
}
