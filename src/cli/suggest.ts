/**
 * "Did you mean …?" for the CLI: the known name closest to a mistyped command, subcommand or
 * option, by edit distance (Levenshtein with adjacent transpositions, as git and cargo do).
 *
 * A suggestion is offered only when it is likely to be what was meant: at most one edit for short
 * names, two for longer ones, or a name that starts with what was typed (`stat` → `status`).
 * Otherwise nothing: a wrong guess is worse than none.
 *
 * Pure. Safe for concurrent use.
 *
 * @module
 */

/**
 * The optimal-string-alignment distance between `a` and `b`: insertions, deletions,
 * substitutions and swaps of two adjacent characters each cost 1.
 *
 * @example
 * ```ts
 * editDistance('pubish', 'publish'); // 1
 * editDistance('pbulish', 'publish'); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate `input` most likely meant, or `undefined` when none is close enough.
 *
 * @example
 * ```ts
 * closestMatch('pubish', ['publish', 'status']); // 'publish'
 * closestMatch('frobnicate', ['publish', 'status']); // undefined
 * ```
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  if (input === '') return undefined;
  const limit = input.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    if (name === input) return name;
    const distance = editDistance(input, name);
    const prefix = input.length >= 3 && name.startsWith(input);
    if (distance > limit && !prefix) continue;
    const score = prefix ? Math.min(distance, limit) : distance;
    if (best === undefined || score < best.distance) best = { name, distance: score };
  }
  return best?.name;
}

/** `; did you mean X?` to append to a message, or the empty string. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const match = closestMatch(input, candidates);
  return match === undefined ? '' : `; did you mean ${match}?`;
}
