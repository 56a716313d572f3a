/**
 * Dynamic group expressions: a saved query over inventory attributes, such as
 * `model=gw-200 and hwrev>=3 and site=oslo`, parsed once into a tree and evaluated against a
 * device when a deployment phase starts (issue 15).
 *
 * Grammar (case-insensitive keywords, left to right, `and` binds tighter than `or`):
 *
 * ```
 * expr       := or
 * or         := and ("or" and)*
 * and        := unary ("and" unary)*
 * unary      := "not" unary | "(" expr ")" | comparison
 * comparison := field op value
 * op         := "=" | "!=" | ">=" | "<=" | ">" | "<" | "^="      (^= : starts with)
 * field      := [A-Za-z_][A-Za-z0-9_.-]{0,63}
 * value      := a bare word ([A-Za-z0-9_.:/@+-]+) | a double-quoted string with \" and \\ escapes
 * ```
 *
 * Fields: `deviceId`, `status`, `model`, `hwrev` (hardware revision), `hardwareId` (true when
 * any ECU has it), `installed` (any ECU's installed target path); any other name is a device
 * attribute (`site`). A missing field compares false with every operator but `!=`, which is true.
 * Ordering operators compare numerically when both sides are decimal numbers, otherwise by
 * semantic version when both parse as one, otherwise by code points — so `hwrev>=3` means what
 * an operator expects of `hwrev=10`.
 *
 * Pure: text in, a tree or a `FormatError` out; the tree is evaluated against plain values.
 * Length (1 KiB) and nesting depth (16) are capped: expressions come from the admin API.
 *
 * @module
 */
import semver from 'semver';
import { FormatError } from '../errors.js';

/** The longest expression accepted. */
export const MAX_GROUP_EXPRESSION_LENGTH = 1024;
/** The deepest nesting of `not` and parentheses accepted. */
export const MAX_GROUP_EXPRESSION_DEPTH = 16;

/** Comparison operators. */
export type GroupOperator = '=' | '!=' | '>=' | '<=' | '>' | '<' | '^=';

/** A parsed expression. */
export type GroupExpression =
  | { kind: 'and' | 'or'; terms: GroupExpression[] }
  | { kind: 'not'; term: GroupExpression }
  | { kind: 'compare'; field: string; op: GroupOperator; value: string };

/** What an expression is evaluated against: the inventory's view of one device. */
export interface GroupSubject {
  deviceId: string;
  status: string;
  model?: string;
  hardwareRevision?: string;
  hardwareIds: readonly string[];
  /** Installed target paths of its ECUs. */
  installed: readonly string[];
  attributes: Readonly<Record<string, string>>;
}

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'string'; text: string; at: number }
  | { type: 'op'; text: GroupOperator; at: number }
  | { type: 'paren'; text: '(' | ')'; at: number };

const FIELD = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const WORD = /[A-Za-z0-9_.:/@+-]/;
const OPS: readonly GroupOperator[] = ['!=', '>=', '<=', '^=', '=', '>', '<'];

function fail(source: string, at: number, what: string): never {
  throw new FormatError(
    `group expression: ${what} at character ${at + 1} of "${source}" (e.g. model=gw-200 and hwrev>=3 and site=oslo)`,
  );
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === ' ' || c === '\t') {
      i += 1;
    } else if (c === '(' || c === ')') {
      tokens.push({ type: 'paren', text: c, at: i });
      i += 1;
    } else if (c === '"') {
      const start = i;
      let text = '';
      i += 1;
      for (;;) {
        if (i >= source.length) fail(source, start, 'an unterminated string');
        const d = source[i] as string;
        if (d === '"') break;
        if (d === '\\') {
          const e = source[i + 1];
          if (e !== '"' && e !== '\\') fail(source, i, 'an escape other than \\" or \\\\');
          text += e;
          i += 2;
        } else {
          if (d < ' ') fail(source, i, 'a control character');
          text += d;
          i += 1;
        }
      }
      tokens.push({ type: 'string', text, at: start });
      i += 1;
    } else {
      const op = OPS.find((o) => source.startsWith(o, i));
      if (op !== undefined) {
        tokens.push({ type: 'op', text: op, at: i });
        i += op.length;
      } else if (WORD.test(c)) {
        const start = i;
        while (i < source.length && WORD.test(source[i] as string)) i += 1;
        tokens.push({ type: 'word', text: source.slice(start, i), at: start });
      } else {
        fail(source, i, `an unexpected character "${c}"`);
      }
    }
  }
  return tokens;
}

/**
 * Parse a group expression.
 *
 * @throws FormatError naming the position and what was wrong.
 * @example
 * ```ts
 * const expr = parseGroupExpression('model=gw-200 and hwrev>=3 and site=oslo');
 * matchesGroup(expr, device); // true or false
 * ```
 */
export function parseGroupExpression(source: string): GroupExpression {
  if (source.length > MAX_GROUP_EXPRESSION_LENGTH) {
    throw new FormatError(
      `group expression: ${source.length} characters, at most ${MAX_GROUP_EXPRESSION_LENGTH} are accepted`,
    );
  }
  const tokens = tokenize(source);
  if (tokens.length === 0) fail(source, 0, 'nothing');
  let pos = 0;
  const peekKeyword = (word: string): boolean => {
    const t = tokens[pos];
    return t?.type === 'word' && t.text.toLowerCase() === word;
  };
  const atEnd = (): number => (tokens[pos]?.at ?? source.length) as number;

  const parseOr = (depth: number): GroupExpression => {
    const terms = [parseAnd(depth)];
    while (peekKeyword('or')) {
      pos += 1;
      terms.push(parseAnd(depth));
    }
    return terms.length === 1 ? (terms[0] as GroupExpression) : { kind: 'or', terms };
  };
  const parseAnd = (depth: number): GroupExpression => {
    const terms = [parseUnary(depth)];
    while (peekKeyword('and')) {
      pos += 1;
      terms.push(parseUnary(depth));
    }
    return terms.length === 1 ? (terms[0] as GroupExpression) : { kind: 'and', terms };
  };
  const parseUnary = (depth: number): GroupExpression => {
    if (depth > MAX_GROUP_EXPRESSION_DEPTH) {
      fail(source, atEnd(), `nesting deeper than ${MAX_GROUP_EXPRESSION_DEPTH}`);
    }
    const t = tokens[pos];
    if (t === undefined) fail(source, source.length, 'a missing condition');
    if (peekKeyword('not')) {
      pos += 1;
      return { kind: 'not', term: parseUnary(depth + 1) };
    }
    if (t.type === 'paren' && t.text === '(') {
      pos += 1;
      const inner = parseOr(depth + 1);
      const close = tokens[pos];
      if (close?.type !== 'paren' || close.text !== ')') fail(source, atEnd(), 'a missing ")"');
      pos += 1;
      return inner;
    }
    if (t.type !== 'word' || !FIELD.test(t.text)) fail(source, t.at, 'a field name expected');
    const op = tokens[pos + 1];
    if (op?.type !== 'op') {
      pos += 1;
      fail(source, atEnd(), `an operator (=, !=, >=, <=, >, <, ^=) after "${t.text}"`);
    }
    const value = tokens[pos + 2];
    if (value === undefined || (value.type !== 'word' && value.type !== 'string')) {
      pos += 2;
      fail(source, atEnd(), `a value after "${t.text}${op.text}"`);
    }
    pos += 3;
    return { kind: 'compare', field: t.text, op: op.text, value: value.text };
  };

  const expression = parseOr(0);
  if (pos < tokens.length) {
    const t = tokens[pos] as Token;
    fail(source, t.at, `"${t.text}" where "and", "or" or the end was expected`);
  }
  return expression;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** Order two values: numerically, by semantic version, or by code points, in that preference. */
export function compareGroupValues(a: string, b: string): number {
  if (NUMBER.test(a) && NUMBER.test(b)) return Math.sign(Number(a) - Number(b));
  if (semver.valid(a) !== null && semver.valid(b) !== null) return semver.compare(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareOne(actual: string, op: GroupOperator, expected: string): boolean {
  switch (op) {
    case '=':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '^=':
      return actual.startsWith(expected);
    case '>=':
      return compareGroupValues(actual, expected) >= 0;
    case '<=':
      return compareGroupValues(actual, expected) <= 0;
    case '>':
      return compareGroupValues(actual, expected) > 0;
    case '<':
      return compareGroupValues(actual, expected) < 0;
  }
}

function fieldValues(subject: GroupSubject, field: string): readonly string[] {
  switch (field) {
    case 'deviceId':
      return [subject.deviceId];
    case 'status':
      return [subject.status];
    case 'model':
      return subject.model === undefined ? [] : [subject.model];
    case 'hwrev':
      return subject.hardwareRevision === undefined ? [] : [subject.hardwareRevision];
    case 'hardwareId':
      return subject.hardwareIds;
    case 'installed':
      return subject.installed;
    default:
      return Object.hasOwn(subject.attributes, field) ? [subject.attributes[field] as string] : [];
  }
}

/**
 * Does the device belong to the group? Multi-valued fields (`hardwareId`, `installed`) hold
 * when any value does, except `!=`, which holds when no value equals.
 */
export function matchesGroup(expression: GroupExpression, subject: GroupSubject): boolean {
  switch (expression.kind) {
    case 'and':
      return expression.terms.every((t) => matchesGroup(t, subject));
    case 'or':
      return expression.terms.some((t) => matchesGroup(t, subject));
    case 'not':
      return !matchesGroup(expression.term, subject);
    case 'compare': {
      const values = fieldValues(subject, expression.field);
      if (expression.op === '!=') return !values.includes(expression.value);
      return values.some((v) => compareOne(v, expression.op, expression.value));
    }
  }
}
