/**
 * Canonical JSON for TUF: the OLPC canonical encoder python-tuf signs with, and the strict parser
 * for untrusted metadata bytes. Pure (no I/O, no clock); safe for concurrent use.
 *
 * @module
 */
export {
  canonicalString,
  DEFAULT_MAX_DEPTH,
  type EncodeCanonicalOptions,
  encodeCanonical,
} from './encode.js';
export {
  type JsonArray,
  type JsonObject,
  type JsonValue,
  type ParsedWithCanonicalMember,
  type ParseJsonOptions,
  parseJson,
  parseJsonWithCanonicalMember,
} from './parse.js';
