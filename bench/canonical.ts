/**
 * Benchmark of the canonical JSON encoder and the strict parser on a large targets.json-shaped
 * document (100,000 targets, about 20 MB): the size a big fleet's image repository reaches.
 *
 * Reports MB/s (best of 5 runs, 1 MB = 10^6 bytes of canonical output or input text) for
 * `encodeCanonical`, `parseJson` on bytes, and `JSON.parse` on the same bytes (decoded) for
 * comparison. Not a test: timings depend on the machine.
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

function bestOf(runs: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    fn();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms < best) best = ms;
  }
  return best;
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
  let canonical = encodeCanonical(document);
  const encodeMs = bestOf(RUNS, () => {
    canonical = encodeCanonical(document);
  });
  const text = new TextDecoder().decode(canonical);
  const parseMs = bestOf(RUNS, () => {
    parseJson(canonical);
  });
  const jsonParseMs = bestOf(RUNS, () => {
    JSON.parse(new TextDecoder().decode(canonical));
  });
  const jsonStringifyMs = bestOf(RUNS, () => {
    new TextEncoder().encode(JSON.stringify(document));
  });
  const figures: Record<string, string | number> = {
    targets: TARGETS,
    documentBytes: canonical.byteLength,
    encodeCanonicalMs: Math.round(encodeMs),
    encodeCanonicalMBps: mbPerSecond(canonical.byteLength, encodeMs),
    jsonStringifyMBps: mbPerSecond(text.length, jsonStringifyMs),
    parseJsonMs: Math.round(parseMs),
    parseJsonMBps: mbPerSecond(canonical.byteLength, parseMs),
    jsonParseMBps: mbPerSecond(canonical.byteLength, jsonParseMs),
    parseJsonToJsonParseRatio: Math.round((parseMs / jsonParseMs) * 100) / 100,
  };
  console.log('canonical JSON benchmark');
  for (const [name, value] of Object.entries(figures)) console.log(`  ${name}: ${value}`);
  return figures;
}
