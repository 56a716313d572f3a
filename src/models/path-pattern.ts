/**
 * Delegation path patterns, matched as the reference implementation matches them
 * (python-tuf `DelegatedRole._is_target_in_pathpattern`): the target path and the pattern are
 * split on `/`, must have the same number of segments, and each segment must match its pattern
 * segment with shell-style `fnmatch` rules — `*` (any run, never crossing `/`), `?` (one
 * character), `[seq]` and `[!seq]` (character classes). Matching is case-sensitive, as
 * `fnmatch` is on POSIX.
 *
 * Pure; compiled patterns are cached, so safe and cheap for repeated use.
 *
 * @module
 */

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 10_000;

/** True when `targetPath` matches the delegation `pattern`. */
export function isTargetInPathPattern(targetPath: string, pattern: string): boolean {
  const targetParts = targetPath.split('/');
  const patternParts = pattern.split('/');
  if (targetParts.length !== patternParts.length) return false;
  for (let i = 0; i < targetParts.length; i++) {
    if (!segmentRegExp(patternParts[i] as string).test(targetParts[i] as string)) return false;
  }
  return true;
}

function segmentRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^${translate(pattern)}$`, 'su');
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** Python's `fnmatch.translate`, for one segment (the caller already split on `/`). */
export function translate(pattern: string): string {
  const chars = [...pattern];
  let out = '';
  let i = 0;
  while (i < chars.length) {
    const c = chars[i++] as string;
    if (c === '*') {
      // Collapse runs of `*`; `.` with the `s` flag, and segments never contain `/`.
      while (chars[i] === '*') i++;
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      let j = i;
      if (chars[j] === '!') j++;
      if (chars[j] === ']') j++;
      while (j < chars.length && chars[j] !== ']') j++;
      if (j >= chars.length) {
        out += '\\[';
      } else {
        let body = chars.slice(i, j);
        i = j + 1;
        let negate = false;
        if (body[0] === '!') {
          negate = true;
          body = body.slice(1);
        }
        const escaped = body.map((ch, k) =>
          ch === '-' && k > 0 && k < body.length - 1 ? '-' : escapeClassChar(ch),
        );
        out +=
          body.length === 0 ? (negate ? '.' : '(?!)') : `[${negate ? '^' : ''}${escaped.join('')}]`;
      }
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
