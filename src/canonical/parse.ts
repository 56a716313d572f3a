/**
 * A strict JSON parser for untrusted metadata bytes: RFC 8259 grammar, restricted to the values
 * canonical JSON (and therefore TUF signatures) can represent.
 *
 * What it refuses, and why:
 * - bytes that are not UTF-8 (RFC 8259 §8.1), decoded with `fatal: true` so nothing is replaced
 *   by U+FFFD behind our back; a leading byte order mark (RFC 8259 §8.1: senders must not add
 *   one; python-tuf's `JSONDeserializer` runs `json.loads(raw_data.decode("utf-8"))`, which
 *   refuses it, so we refuse rather than strip it and accept documents the reference rejects);
 * - anything outside the grammar: comments, single quotes, trailing commas, invalid escapes,
 *   leading zeros, trailing garbage after the value;
 * - numbers with a fraction or an exponent (TUF metadata holds integers only; `1.0` would be
 *   silently turned into `1` by `JSON.parse`), `-0`, and integers beyond
 *   `Number.MAX_SAFE_INTEGER` (detected on the text, before precision is lost);
 * - duplicate object keys: parsers disagree on which one wins, which lets one signed document be
 *   read two ways (an ambiguity attack);
 * - lone surrogates, escaped (`"\ud800"`) or, in string input, raw: they have no UTF-8 form and
 *   cannot be canonicalized;
 * - nesting deeper than `maxDepth` (default 512) and input longer than `maxLength`.
 *
 * Error classes: {@link CanonicalJsonError} (`ERR_TUF_CANONICAL_JSON`) when the text is valid
 * JSON but holds a value canonical JSON cannot represent (float, exponent, `-0`, unsafe integer,
 * lone surrogate); {@link FormatError} (`ERR_TUF_FORMAT`) for everything else (not UTF-8, BOM,
 * syntax, duplicate key, too deep, too long, wrong input type). `CanonicalJsonError` extends
 * `FormatError`, so `instanceof FormatError` catches both. Messages give line, column and the
 * path of the value being read (`signed.targets["a"].length`).
 *
 * One deliberate leniency: raw control characters (U+0000..U+001F) inside strings are accepted,
 * although RFC 8259 §7 requires them escaped. Canonical JSON (OLPC, securesystemslib) writes them
 * raw, so canonical bytes (a file written with `encodeCanonical`, say) are only readable this
 * way, and `parseJson` is the exact inverse of `encodeCanonical`. A raw control character has one meaning,
 * so accepting it creates no ambiguity. (Python's `json.loads` refuses them by default; metadata
 * written with `JSON.stringify` or `json.dumps` never contains them.)
 *
 * The parser is iterative (an explicit stack), so nesting depth never touches the call stack.
 * Objects are ordinary objects (`Object.prototype`); a `__proto__` key becomes an own data
 * property, never the prototype (no prototype pollution). String values may be V8 "sliced"
 * strings that share memory with the decoded input text, which therefore lives as long as the
 * result does.
 *
 * Pure and stateless between calls: safe for concurrent use.
 *
 * @module
 */
import { CanonicalJsonError, FormatError } from '../errors.js';
import { DEFAULT_MAX_DEPTH } from './encode.js';
import { fastParse } from './fast-parse.js';

/** A JSON value as `parseJson` returns it: integers only, no `undefined`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object: an ordinary object whose own enumerable properties are the members. */
export type JsonObject = { [key: string]: JsonValue };
/** A JSON array. */
export type JsonArray = JsonValue[];

/** Options of {@link parseJson}. */
export interface ParseJsonOptions {
  /**
   * Deepest allowed nesting of arrays and objects (a top-level container is depth 1).
   * Default 512.
   */
  maxDepth?: number;
  /**
   * Refuse longer input: bytes for a `Uint8Array`, UTF-16 code units for a string. Default: no
   * limit here (the fetcher caps downloads); set it when the caller has no cap of its own.
   */
  maxLength?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Parse untrusted JSON text strictly (see the module documentation for what is refused).
 *
 * @throws {FormatError} `ERR_TUF_FORMAT`: not UTF-8, BOM, syntax error, duplicate key, too
 *   deep, too long, input neither bytes nor string.
 * @throws {CanonicalJsonError} `ERR_TUF_CANONICAL_JSON`: float, exponent, `-0`, integer beyond
 *   `Number.MAX_SAFE_INTEGER`, lone surrogate.
 * @throws {RangeError} when an option is not a non-negative number (a programming error).
 *
 * @example
 * ```ts
 * const signed = parseJson(bytes, { maxLength: 512 * 1024 });
 * parseJson('{"a":1,"a":2}'); // throws FormatError: duplicate key "a"
 * parseJson('{"version":1.0}'); // throws CanonicalJsonError: integers only
 * ```
 */
export function parseJson(input: Uint8Array | string, options: ParseJsonOptions = {}): JsonValue {
  const maxDepth = checkedMaxDepth(options);
  const text = decodeInput(input, options);
  const fast =
    text.length >= FAST_PARSE_MIN_LENGTH ? fastParse(text, maxDepth, undefined) : undefined;
  return fast?.value ?? new Parser(text, maxDepth, undefined).parse();
}

/** What {@link parseJsonWithCanonicalMember} returns. */
export interface ParsedWithCanonicalMember {
  /** The parsed value, as {@link parseJson} returns it. */
  value: JsonValue;
  /**
   * The input bytes of the top-level object's member `member` (a view into the input, not a
   * copy) when they are exactly that member's canonical JSON (`encodeCanonical(value[member])`);
   * `undefined` when the member is missing or the bytes are not canonical, so the caller must
   * encode it.
   */
  canonicalMember: Uint8Array | undefined;
}

/**
 * Parse like {@link parseJson}, and also tell whether the bytes of one top-level member are
 * already its canonical JSON, so a verifier can check signatures over those bytes instead of
 * re-encoding the parsed value (for a hash bin the encode costs as much as the parse).
 *
 * The parser proves it while reading: the member's bytes are canonical when the input is ASCII
 * (so a byte is a character, and code-unit order is code-point order) and inside the member
 * there is no whitespace outside strings, no escape other than `\"` and `\\`, and every
 * object's keys are in strictly increasing order. Integers, `true`, `false` and `null` have only
 * their canonical spelling in what the parser accepts. Anything else gives `undefined`, never a
 * wrong answer: the fast path may be missed, not taken wrongly.
 *
 * @throws the errors of {@link parseJson}.
 *
 * @example
 * ```ts
 * const { value, canonicalMember } = parseJsonWithCanonicalMember(bytes, 'signed');
 * const signedBytes = canonicalMember ?? encodeCanonical((value as JsonObject).signed);
 * ```
 */
export function parseJsonWithCanonicalMember(
  input: Uint8Array,
  member: string,
  options: ParseJsonOptions = {},
): ParsedWithCanonicalMember {
  return readWithCanonicalMember(input, member, options, 'auto');
}

/**
 * Inputs at least this long (UTF-16 code units) are first tried with the `JSON.parse` fast path
 * (`fast-parse.ts`), which gives the same result whenever it is taken. Why only large ones: the
 * fast path parses natively and then checks the text by rebuilding it with `JSON.stringify`,
 * which costs as much again, and walks the value; the strict parser, once V8 has optimized it,
 * is only 2x `JSON.parse` (600 hash bins of 10 KB: 48 ms strict, 61 ms fast). But optimizing
 * takes many calls: a large document read once per refresh (a snapshot of 1,024 bins, 135 KB; a
 * big targets role) is read before that, in the interpreter, and there the fast path costs a
 * third (111 M against 38 M instructions for that snapshot in a fresh process). Small documents
 * read by the hundred (hash bins) stay on the strict parser.
 */
export const FAST_PARSE_MIN_LENGTH = 64 * 1024;

/**
 * {@link parseJsonWithCanonicalMember} with the `JSON.parse` fast path tried whatever the
 * input's length. For the differential tests.
 *
 * @internal
 */
export function parseJsonWithCanonicalMemberFast(
  input: Uint8Array,
  member: string,
  options: ParseJsonOptions = {},
): ParsedWithCanonicalMember {
  return readWithCanonicalMember(input, member, options, 'fast');
}

/**
 * {@link parseJsonWithCanonicalMember} without the `JSON.parse` fast path: the strict parser
 * alone. For the differential tests that check the fast path gives the same answers.
 *
 * @internal
 */
export function parseJsonWithCanonicalMemberStrictly(
  input: Uint8Array,
  member: string,
  options: ParseJsonOptions = {},
): ParsedWithCanonicalMember {
  return readWithCanonicalMember(input, member, options, 'strict');
}

function readWithCanonicalMember(
  input: Uint8Array,
  member: string,
  options: ParseJsonOptions,
  path: 'auto' | 'fast' | 'strict',
): ParsedWithCanonicalMember {
  const maxDepth = checkedMaxDepth(options);
  const text = decodeInput(input, options);
  // One byte per character: the input is ASCII, so text indices are byte offsets.
  const ascii = text.length === input.byteLength;
  const tryFast = path === 'fast' || (path === 'auto' && text.length >= FAST_PARSE_MIN_LENGTH);
  const fast = tryFast ? fastParse(text, maxDepth, member) : undefined;
  if (fast !== undefined) {
    const span = fast.member;
    return {
      value: fast.value,
      canonicalMember:
        ascii && span?.canonical === true ? input.subarray(span.start, span.end) : undefined,
    };
  }
  const parser = new Parser(text, maxDepth, member);
  const value = parser.parse();
  const canonicalMember =
    ascii && parser.memberEnd >= 0 && parser.memberIrregular === 0
      ? input.subarray(parser.memberStart, parser.memberEnd)
      : undefined;
  return { value, canonicalMember };
}

function checkedMaxDepth(options: ParseJsonOptions): number {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) {
    throw new RangeError(`maxDepth must be a non-negative integer, got ${String(maxDepth)}`);
  }
  return maxDepth;
}

/** Check the input and its length, and decode it to text (refusing a byte order mark). */
function decodeInput(input: Uint8Array | string, options: ParseJsonOptions): string {
  const maxLength = options.maxLength ?? Number.POSITIVE_INFINITY;
  if (!(maxLength >= 0)) {
    throw new RangeError(`maxLength must be a non-negative number, got ${String(maxLength)}`);
  }
  let text: string;
  if (typeof input === 'string') {
    if (input.length > maxLength) throw tooLong(input.length, maxLength, 'characters');
    // Decoded UTF-8 is always well-formed; a JavaScript string may hold a raw lone surrogate.
    const lone = isWellFormed(input) ? null : LONE_SURROGATE.exec(input);
    if (lone !== null) {
      throw new CanonicalJsonError(
        `cannot parse JSON: lone surrogate U+${input.charCodeAt(lone.index).toString(16).toUpperCase()} at character offset ${lone.index}: it has no UTF-8 form`,
      );
    }
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxLength) throw tooLong(input.byteLength, maxLength, 'bytes');
    try {
      text = utf8.decode(input);
    } catch (error) {
      throw new FormatError('cannot parse JSON: the input is not valid UTF-8', { cause: error });
    }
  } else {
    throw new FormatError(
      `cannot parse JSON from ${input === null ? 'null' : typeof input}: expected a Uint8Array or a string`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new FormatError(
      'cannot parse JSON: the input starts with a byte order mark (U+FEFF); RFC 8259 §8.1 says JSON text must not have one, and tufota refuses it as python-tuf does',
    );
  }
  return text;
}

/**
 * `String.prototype.isWellFormed` (ES2024, native in Node 20; O(1) for Latin-1 strings) where
 * available, else a regular expression.
 */
function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return native === undefined ? !LONE_SURROGATE.test(s) : native.call(s);
}

function tooLong(length: number, maxLength: number, unit: string): FormatError {
  return new FormatError(
    `cannot parse JSON: the input is ${length} ${unit} long, more than maxLength ${maxLength}`,
  );
}

/**
 * One parsing run. The stack is two parallel arrays indexed by depth: the open container and,
 * for an object, the key whose value is being read (`null` marks an array, `undefined` an object
 * whose next key is being read).
 */
class Parser {
  private pos = 0;
  private depth = 0;
  /** Index of the next backslash at or after the last string start searched (see `string`). */
  private nextBackslash = -1;
  private readonly containers: (JsonValue[] | JsonObject)[] = [];
  private readonly keys: (string | null | undefined)[] = [];
  /** Per open object, the last key read (for the key-order check). */
  private readonly lastKeys: (string | undefined)[] = [];
  /**
   * Count of non-canonical spellings read so far: whitespace outside strings, an escape other
   * than `\"` and `\\`, a key not greater than the one before it in its object.
   */
  private irregular = 0;
  /** Text span of the top-level member `member` (end -1 until read), and its irregular count. */
  memberStart = -1;
  memberEnd = -1;
  memberIrregular = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    /** The top-level member whose span and canonicity are tracked, if any. */
    private readonly member: string | undefined,
  ) {}

  parse(): JsonValue {
    const text = this.text;
    const n = text.length;
    const containers = this.containers;
    const keys = this.keys;
    let pos = 0;
    let value: JsonValue;
    for (;;) {
      // 1. Read one value at `pos`; an opened non-empty container loops back for its first child.
      let c = text.charCodeAt(pos);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        this.irregular++;
        c = text.charCodeAt(++pos);
      }
      if (c === 0x22) {
        value = this.string(pos + 1);
        pos = this.pos;
      } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
        value = this.number(pos);
        pos = this.pos;
      } else if (c === 0x7b) {
        c = text.charCodeAt(++pos);
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          this.irregular++;
          c = text.charCodeAt(++pos);
        }
        if (c === 0x7d) {
          if (this.depth >= this.maxDepth) throw this.tooDeep(pos);
          value = {};
          pos++;
        } else {
          this.push({}, undefined, pos);
          pos = this.key(pos);
          continue;
        }
      } else if (c === 0x5b) {
        c = text.charCodeAt(++pos);
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          this.irregular++;
          c = text.charCodeAt(++pos);
        }
        if (c === 0x5d) {
          if (this.depth >= this.maxDepth) throw this.tooDeep(pos);
          value = [];
          pos++;
        } else {
          this.push([], null, pos);
          continue;
        }
      } else if (c === 0x74 && text.startsWith('true', pos)) {
        value = true;
        pos += 4;
      } else if (c === 0x66 && text.startsWith('false', pos)) {
        value = false;
        pos += 5;
      } else if (c === 0x6e && text.startsWith('null', pos)) {
        value = null;
        pos += 4;
      } else {
        throw this.syntax(pos, 'a value');
      }

      // 2. The value is complete: store it in its container, then find the next value or close.
      for (;;) {
        const valueEnd = pos;
        const irregularAtEnd = this.irregular;
        c = text.charCodeAt(pos);
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          this.irregular++;
          c = text.charCodeAt(++pos);
        }
        if (this.depth === 0) {
          if (pos < n) throw this.syntax(pos, 'the end of input after the top-level value');
          return value;
        }
        const top = this.depth - 1;
        const container = containers[top]!;
        const key = keys[top];
        if (key === null) {
          (container as JsonValue[]).push(value);
          if (c === 0x2c) {
            pos++;
            break;
          }
          if (c !== 0x5d) throw this.syntax(pos, "',' or ']'");
        } else {
          if (top === 0 && key === this.member) {
            this.memberEnd = valueEnd;
            this.memberIrregular = irregularAtEnd - this.memberIrregular;
          }
          if (key === '__proto__') {
            // A plain assignment would replace the prototype: define an own data property.
            Object.defineProperty(container, key, {
              value,
              writable: true,
              enumerable: true,
              configurable: true,
            });
          } else {
            (container as JsonObject)[key!] = value;
          }
          if (c === 0x2c) {
            keys[top] = undefined;
            c = text.charCodeAt(++pos);
            while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
              this.irregular++;
              c = text.charCodeAt(++pos);
            }
            pos = this.key(pos);
            break;
          }
          if (c !== 0x7d) throw this.syntax(pos, "',' or '}'");
        }
        pos++;
        value = container;
        this.depth = top;
      }
    }
  }

  private push(container: JsonValue[] | JsonObject, key: null | undefined, pos: number): void {
    const depth = this.depth;
    if (depth >= this.maxDepth) throw this.tooDeep(pos);
    this.containers[depth] = container;
    this.keys[depth] = key;
    this.lastKeys[depth] = undefined;
    this.depth = depth + 1;
  }

  private tooDeep(pos: number): FormatError {
    return this.fail(pos, `nesting is deeper than maxDepth ${this.maxDepth}`);
  }

  /** Read `"key" :` at `pos` (whitespace already skipped) for the top object; return the new pos. */
  private key(pos: number): number {
    const text = this.text;
    if (text.charCodeAt(pos) !== 0x22) throw this.syntax(pos, 'a string key');
    const key = this.string(pos + 1);
    const top = this.depth - 1;
    if (Object.hasOwn(this.containers[top]!, key)) {
      throw this.fail(
        pos,
        `duplicate key ${JSON.stringify(key)}: JSON with repeated keys is ambiguous and refused`,
      );
    }
    this.keys[top] = key;
    const last = this.lastKeys[top];
    // Code-unit order; the span is only used for ASCII input, where it is code-point order.
    if (last !== undefined && !(last < key)) this.irregular++;
    this.lastKeys[top] = key;
    pos = this.pos;
    let c = text.charCodeAt(pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      this.irregular++;
      c = text.charCodeAt(++pos);
    }
    if (c !== 0x3a) throw this.syntax(pos, "':'");
    if (top === 0 && key === this.member) {
      // Whitespace after the colon counts against the span: it may miss a fast path, no more.
      this.memberStart = pos + 1;
      this.memberIrregular = this.irregular;
    }
    return pos + 1;
  }

  /** Read a string whose opening quote is just before `start`; sets `this.pos` past the close. */
  private string(start: number): string {
    const text = this.text;
    const end = text.indexOf('"', start);
    if (end === -1) throw this.fail(start - 1, 'unterminated string');
    // Escapes are rare: remember where the next backslash is instead of testing every character
    // (indexOf is a native scan). The text is known well-formed, so no surrogate check is needed.
    let backslash = this.nextBackslash;
    if (backslash < start) {
      backslash = text.indexOf('\\', start);
      this.nextBackslash = backslash = backslash === -1 ? Number.POSITIVE_INFINITY : backslash;
    }
    if (backslash > end) {
      this.pos = end + 1;
      return text.slice(start, end);
    }
    return this.stringSlow(start, backslash);
  }

  /** The general string path, from the first backslash at `i` on. */
  private stringSlow(start: number, i: number): string {
    const text = this.text;
    const n = text.length;
    let out = '';
    let chunk = start;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out + text.slice(chunk, i);
      }
      if (c === 0x5c) {
        out += text.slice(chunk, i);
        const e = text.charCodeAt(i + 1);
        // Canonical JSON escapes only the quote and the backslash.
        if (e !== 0x22 && e !== 0x5c) this.irregular++;
        switch (e) {
          case 0x22:
            out += '"';
            break;
          case 0x5c:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            const unit = hex4(text, i + 2);
            if (unit < 0) throw this.fail(i, 'invalid \\u escape: expected four hex digits');
            if (unit >= 0xd800 && unit <= 0xdfff) {
              // RFC 8259 §7: an astral character is a \uD8xx\uDCxx pair; a half alone has no
              // UTF-8 form and no canonical encoding.
              const low =
                unit <= 0xdbff && text.charCodeAt(i + 6) === 0x5c && text.charCodeAt(i + 7) === 0x75
                  ? hex4(text, i + 8)
                  : -1;
              if (low < 0xdc00 || low > 0xdfff) throw this.loneSurrogate(i, unit);
              out += String.fromCharCode(unit, low);
              i += 6;
            } else {
              out += String.fromCharCode(unit);
            }
            i += 4;
            break;
          }
          default:
            throw this.fail(
              i,
              'invalid escape: expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u',
            );
        }
        i += 2;
        chunk = i;
        continue;
      }
      i++;
    }
    throw this.fail(start - 1, 'unterminated string');
  }

  /** Read an integer at `start`; sets `this.pos` past it. */
  private number(start: number): number {
    const text = this.text;
    let i = start;
    let c = text.charCodeAt(i);
    const negative = c === 0x2d;
    if (negative) c = text.charCodeAt(++i);
    let value: number;
    if (c === 0x30) {
      value = 0;
      c = text.charCodeAt(++i);
      if (c >= 0x30 && c <= 0x39) throw this.fail(start, 'invalid number: leading zero');
    } else if (c >= 0x31 && c <= 0x39) {
      // Exact while the running value is safe; once beyond 2^53 - 1 it stays beyond (rounding
      // is monotonic), so the range check below cannot be fooled by lost precision.
      value = c - 0x30;
      c = text.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39) {
        value = value * 10 + (c - 0x30);
        c = text.charCodeAt(++i);
      }
    } else {
      throw this.syntax(i, 'a digit');
    }
    if (c === 0x2e || c === 0x65 || c === 0x45) {
      throw this.fail(
        start,
        `number ${this.token(start)} has a fraction or exponent: TUF metadata allows integers only`,
        CanonicalJsonError,
      );
    }
    if (value > MAX_SAFE) {
      throw this.fail(
        start,
        `integer ${this.token(start)} is beyond Number.MAX_SAFE_INTEGER (${MAX_SAFE})`,
        CanonicalJsonError,
      );
    }
    if (negative) {
      if (value === 0)
        throw this.fail(start, '-0 is not allowed in canonical JSON', CanonicalJsonError);
      value = -value;
    }
    this.pos = i;
    return value;
  }

  /** The number-like token at `start`, shortened for a message. */
  private token(start: number): string {
    const text = this.text;
    let end = start;
    for (
      let c = text.charCodeAt(end);
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x45 ||
      c === 0x65;
      c = text.charCodeAt(++end)
    );
    return end - start > 40
      ? `${text.slice(start, start + 20)}… (${end - start} characters)`
      : text.slice(start, end);
  }

  private loneSurrogate(pos: number, unit: number): CanonicalJsonError {
    return this.fail(
      pos,
      `lone surrogate U+${unit.toString(16).toUpperCase()} in a string: it has no UTF-8 form`,
      CanonicalJsonError,
    );
  }

  private syntax(pos: number, expected: string): FormatError {
    if (pos >= this.text.length)
      return this.fail(pos, `unexpected end of input, expected ${expected}`);
    const found = JSON.stringify(String.fromCodePoint(this.text.codePointAt(pos)!));
    return this.fail(pos, `unexpected character ${found}, expected ${expected}`);
  }

  /** An error at text index `pos`, with line, column and the path of the value being read. */
  private fail(
    pos: number,
    message: string,
    Kind: typeof FormatError | typeof CanonicalJsonError = FormatError,
  ): FormatError {
    let line = 1;
    let lineStart = 0;
    const end = Math.min(pos, this.text.length);
    for (let i = this.text.indexOf('\n'); i !== -1 && i < end; i = this.text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const path = this.path();
    const where = `line ${line} column ${end - lineStart + 1}${path === '' ? '' : `, at ${path}`}`;
    return new Kind(`cannot parse JSON: ${message} (${where})`, { path });
  }

  private path(): string {
    let path = '';
    for (let level = 0; level < this.depth; level++) {
      const key = this.keys[level];
      if (key === null) {
        path += `[${(this.containers[level] as JsonValue[]).length}]`;
      } else if (key !== undefined) {
        path += IDENTIFIER.test(key) ? (path === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
      }
    }
    return path;
  }
}

/** The value of four hex digits at `i`, or -1. */
function hex4(text: string, i: number): number {
  let value = 0;
  for (let k = i; k < i + 4; k++) {
    const c = text.charCodeAt(k);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    value = value * 16 + d;
  }
  return value;
}
