/**
 * Benchmark of the canonical JSON encoder and the strict parser on a large targets.json-shaped
 * document (100,000 targets, about 20 MB): the size a big fleet's image repository reaches.
 *
 * Reports MB/s (best of 5 runs, 1 MB = 10^6 bytes of canonical output or input text) for
 * `encodeCanonical` (on the document as built, keys in insertion order, and as parsed back,
 * keys already sorted) (with `JSON.stringify` + `TextEncoder` for scale, which neither sorts keys
 * nor validates), and `parseJson` on bytes against `JSON.parse` of the same bytes decoded.
 * Not a test: timings depend on the machine and its load.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { encodeCanonical, parseJson } from '../src/canonical/index.js';

/** Number of targets in the benchmark document. */
const TARGETS = 100_000;
const RUNS = 5;

/** Build a targets.json-shaped document (the `signed` part wrapped in `{signatures, signed}`). */
export function buildTargetsDocument(count = TARGETS): Record<string, unknown> {
  const targets: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const board = i % 500;
    const path = `firmware/board-${board}/image-${String(i).padStart(5, '0')}.bin`;
    targets[path] = {
      length: 1_000_000 + ((i * 7919) % 50_000_000),
      hashes: { sha256: createHash('sha256').update(path).digest('hex') },
      custom: { version: (i % 97) + 1 },
    };
  }
  return {
    signatures: [{ keyid: 'a'.repeat(64), sig: 'b'.repeat(128) }],
    signed: {
      _type: 'targets',
      spec_version: '1.0.31',
      version: 42,
      expires: '2030-01-01T00:00:00Z',
      targets,
    },
  };
}

/** Wall time of one call, in milliseconds. */
function timeOnce(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const mbPerSecond = (bytes: number, ms: number): number =>
  Math.round((bytes / 1e6 / (ms / 1e3)) * 10) / 10;

/**
 * Run the benchmark, print the figures and return them.
 *
 * @example
 * ```ts
 * const figures = await benchCanonical();
 * // { documentBytes: 17_000_000, encodeMBps: 250.1, parseJsonMBps: 120.4, ... }
 * ```
 */
export async function benchCanonical(): Promise<Record<string, string | number>> {
  const document = buildTargetsDocument();
  const canonical = encodeCanonical(document);
  // The same document as a client or repository holds it after parsing: keys already sorted.
  const parsed = parseJson(canonical);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const cases: Record<string, () => void> = {
    encodeCanonical: () => encodeCanonical(document),
    encodeCanonicalParsed: () => encodeCanonical(parsed),
    jsonStringify: () => encoder.encode(JSON.stringify(document)),
    parseJson: () => parseJson(canonical),
    jsonParse: () => JSON.parse(decoder.decode(canonical)),
  };
  // Interleave the cases round by round so that a burst of load from other processes hurts
  // every case alike rather than one; keep the best run of each.
  const best: Record<string, number> = {};
  for (const fn of Object.values(cases)) fn(); // warm up the JIT
  for (let round = 0; round < RUNS; round++) {
    for (const [name, fn] of Object.entries(cases)) {
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, timeOnce(fn));
    }
  }
  const bytes = canonical.byteLength;
  const figures: Record<string, string | number> = {
    targets: TARGETS,
    documentBytes: bytes,
    encodeCanonicalMs: Math.round(best.encodeCanonical!),
    encodeCanonicalMBps: mbPerSecond(bytes, best.encodeCanonical!),
    encodeCanonicalOfParsedMBps: mbPerSecond(bytes, best.encodeCanonicalParsed!),
    jsonStringifyMBps: mbPerSecond(bytes, best.jsonStringify!),
    parseJsonMs: Math.round(best.parseJson!),
    parseJsonMBps: mbPerSecond(bytes, best.parseJson!),
    jsonParseMBps: mbPerSecond(bytes, best.jsonParse!),
    parseJsonTimeOverJsonParse: Math.round((best.parseJson! / best.jsonParse!) * 100) / 100,
  };
  console.log('canonical JSON benchmark (best of %d)', RUNS);
  for (const [name, value] of Object.entries(figures)) console.log(`  ${name}: ${value}`);
  return figures;
}
