/**
 * Delegation path patterns, matched as the reference implementation matches them
 * (python-tuf `DelegatedRole._is_target_in_pathpattern`): the target path and the pattern are
 * split on `/`, must have the same number of segments, and each segment must match its pattern
 * segment with shell-style `fnmatch` rules — `*` (any run, never crossing `/`), `?` (one
 * character), `[seq]` and `[!seq]` (character classes, `a-z` ranges; a `[` without a closing
 * `]` is a literal). Matching is case-sensitive, as `fnmatchcase` is, and by code point.
 *
 * Why not a regular expression: patterns come from signed but possibly hostile metadata, and a
 * backtracking regex engine takes exponential time on `*?*?*?…#` (issue 9: 15 s at 12 pairs).
 * Here every pattern token other than `*` consumes exactly one character, so the classic
 * two-pointer wildcard algorithm (remember the last `*` and retry it one character further) is
 * exact and costs at most O(pattern length × segment length) steps, never exponential.
 * A reversed range such as `[z-a]` matches nothing, as in Python ≥ 3.9 (a regex would throw).
 *
 * Pure; compiled patterns are cached, so safe and cheap for repeated use.
 *
 * @module
 */

/** One character predicate of a compiled segment pattern, or `*`. */
type Token =
  | { kind: 'star' }
  | { kind: 'any' }
  | { kind: 'literal'; char: string }
  | { kind: 'class'; negate: boolean; ranges: [number, number][] };

/** Whole pattern → one token list per `/`-separated segment. */
const cache = new Map<string, Token[][]>();
const CACHE_LIMIT = 10_000;
const SURROGATE = /[\uD800-\uDFFF]/;

/** Counts comparison steps, for tests proving the cost stays polynomial. */
export interface MatchStats {
  steps: number;
}

/**
 * True when `targetPath` matches the delegation `pattern`.
 *
 * @param stats - when given, `steps` is increased by the number of character comparisons made.
 *
 * @example
 * ```ts
 * isTargetInPathPattern('firmware/board-a.img', 'firmware/*.img'); // true
 * isTargetInPathPattern('firmware/a/b.img', 'firmware/*.img'); // false: `*` never crosses `/`
 * ```
 */
export function isTargetInPathPattern(
  targetPath: string,
  pattern: string,
  stats?: MatchStats,
): boolean {
  const segments = compilePattern(pattern);
  const targetParts = targetPath.split('/');
  if (targetParts.length !== segments.length) return false;
  const counter = stats ?? { steps: 0 };
  for (let i = 0; i < targetParts.length; i++) {
    const part = targetParts[i] as string;
    // Match by code point, as `fnmatch` does; a string without surrogates is its own code points.
    const chars = SURROGATE.test(part) ? [...part] : part;
    if (!matchTokens(segments[i] as Token[], chars, counter)) return false;
  }
  return true;
}

/**
 * Whether the code points `text` match `tokens` entirely. Greedy with one remembered `*`: on a
 * mismatch, the last `*` absorbs one more character and matching resumes after it. Earlier
 * stars never need revisiting because every other token consumes exactly one character.
 */
function matchTokens(
  tokens: readonly Token[],
  text: ArrayLike<string>,
  stats: MatchStats,
): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    stats.steps++;
    const token = tokens[p];
    if (token !== undefined && token.kind === 'star') {
      starP = p++;
      starT = t;
    } else if (token !== undefined && matchesChar(token, text[t] as string)) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < tokens.length && (tokens[p] as Token).kind === 'star') p++;
  return p === tokens.length;
}

function matchesChar(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'literal':
      return token.char === char;
    case 'class': {
      const c = char.codePointAt(0) as number;
      const inside = token.ranges.some(([lo, hi]) => lo <= c && c <= hi);
      return inside !== token.negate;
    }
    default:
      return false;
  }
}

function compilePattern(pattern: string): Token[][] {
  let segments = cache.get(pattern);
  if (segments === undefined) {
    segments = pattern.split('/').map(tokenize);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, segments);
  }
  return segments;
}

/** Python's `fnmatch.translate` parsing, for one segment, into tokens instead of a regex. */
function tokenize(pattern: string): Token[] {
  const chars = [...pattern];
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i++] as string;
    if (c === '*') {
      // Runs of `*` are one `*`.
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
    } else if (c === '[') {
      let j = i;
      if (chars[j] === '!') j++;
      if (chars[j] === ']') j++;
      while (j < chars.length && chars[j] !== ']') j++;
      if (j >= chars.length) {
        tokens.push({ kind: 'literal', char: '[' });
        continue;
      }
      let body = chars.slice(i, j);
      i = j + 1;
      let negate = false;
      if (body[0] === '!') {
        negate = true;
        body = body.slice(1);
      }
      tokens.push({ kind: 'class', negate, ranges: classRanges(body) });
    } else {
      tokens.push({ kind: 'literal', char: c });
    }
  }
  return tokens;
}

/** `a-c` is a range; a `-` first or last is literal; a reversed range is empty. */
function classRanges(body: readonly string[]): [number, number][] {
  const ranges: [number, number][] = [];
  let k = 0;
  while (k < body.length) {
    const lo = (body[k] as string).codePointAt(0) as number;
    if (body[k + 1] === '-' && k + 2 < body.length) {
      const hi = (body[k + 2] as string).codePointAt(0) as number;
      if (lo <= hi) ranges.push([lo, hi]);
      k += 3;
    } else {
      ranges.push([lo, lo]);
      k += 1;
    }
  }
  return ranges;
}
