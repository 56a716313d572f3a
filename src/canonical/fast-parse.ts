/**
 * The fast path of the strict parser (`parse.ts`): `JSON.parse`, accepted only when the text is
 * exactly what `JSON.stringify` writes for the parsed value and holds nothing the strict parser
 * would refuse or read differently. Any doubt returns `undefined`, and the strict parser reads
 * the text instead; so the fast path may be missed, never taken wrongly.
 *
 * Why: metadata as repositories write it (compact JSON, keys sorted) is the common case, and
 * `JSON.parse` is native. In a fresh process the strict parser runs in V8's interpreter until
 * its loop is hot, and then gets an optimizing compile on another thread: parsing a 135 KB
 * snapshot cost 111 M instructions that way, against 38 M for this path (issue 12).
 *
 * Why the result equals the strict parser's when this path is taken:
 * - the text was decoded by the same strict UTF-8 decoder first (no BOM, no U+FFFD);
 * - it has no backslash, so no escape at all: no escaped lone surrogate, no escape whose meaning
 *   the two parsers could disagree on;
 * - `JSON.stringify` of the parsed value, member by member, rebuilds the text exactly: so there
 *   is no whitespace, no duplicate key (the second would be missing from the rebuilt text), no
 *   number spelled other than its plain decimal form (`1.0`, `1e2`, `-0` and precision lost
 *   beyond 2^53 all rebuild differently), and every object's keys are in the order the strict
 *   parser's object would hold them;
 * - every number is a safe integer, and no container is deeper than `maxDepth`.
 * `JSON.parse` builds ordinary objects with a `__proto__` key as an own data property, as the
 * strict parser does. Grammar errors (comments, trailing commas, leading zeros, raw control
 * characters, which the strict parser accepts in strings) make `JSON.parse` throw, and the
 * strict parser then decides.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import type { JsonValue } from './parse.js';

/** What the fast path read. */
export interface FastParse {
  value: JsonValue;
  /**
   * Text span of the top-level member asked for, when the top level is an object that has it,
   * and whether that span is the member's canonical JSON (keys sorted in every object; the
   * caller also requires ASCII input, so text offsets are byte offsets).
   */
  member?: { start: number; end: number; canonical: boolean };
}

/**
 * Parse `text` with `JSON.parse` when that provably gives the strict parser's result; otherwise
 * `undefined`.
 *
 * @param member - a top-level member whose span and canonicity to report.
 */
export function fastParse(
  text: string,
  maxDepth: number,
  member: string | undefined,
): FastParse | undefined {
  if (text.indexOf('\\') !== -1) return undefined;
  try {
    const value = JSON.parse(text) as JsonValue;
    const shape = { sorted: true };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      if (JSON.stringify(value) !== text || !valuesAllowed(value, maxDepth, shape))
        return undefined;
      return { value };
    }
    // The top-level object member by member, so that the member's span is known.
    let rebuilt = '{';
    let span: FastParse['member'];
    for (const key of Object.keys(value)) {
      if (rebuilt.length > 1) rebuilt += ',';
      rebuilt += `${JSON.stringify(key)}:`;
      const child = value[key] as JsonValue;
      const encoded = JSON.stringify(child);
      if (key === member) {
        const memberShape = { sorted: true };
        if (!valuesAllowed(child, maxDepth - 1, memberShape)) return undefined;
        span = {
          start: rebuilt.length,
          end: rebuilt.length + encoded.length,
          canonical: memberShape.sorted,
        };
      } else if (!valuesAllowed(child, maxDepth - 1, shape)) {
        return undefined;
      }
      rebuilt += encoded;
    }
    rebuilt += '}';
    if (maxDepth < 1 || rebuilt !== text) return undefined;
    return span === undefined ? { value } : { value, member: span };
  } catch {
    // JSON.parse refused the text, or it nests too deep for JSON.stringify: the strict parser
    // reads it and gives the exact error.
    return undefined;
  }
}

/**
 * True when every number in `value` is a safe integer and no container is nested deeper than
 * `depthLeft` (a container itself needs 1); clears `shape.sorted` when some object's keys are
 * not in strictly increasing order.
 */
function valuesAllowed(value: JsonValue, depthLeft: number, shape: { sorted: boolean }): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (typeof value !== 'object' || value === null) return true;
  if (depthLeft < 1) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!valuesAllowed(item, depthLeft - 1, shape)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    if (previous !== undefined && !(previous < key)) shape.sorted = false;
    previous = key;
    if (!valuesAllowed(value[key] as JsonValue, depthLeft - 1, shape)) return false;
  }
  return true;
}
