/**
 * Benchmark: parse + verify a 100,000-target `targets.json`, the shape a large fleet repository
 * has. Prints wall time for parsing the bytes into the model and for threshold verification
 * (canonical encoding of `signed` + one ed25519 signature check).
 */
import { InMemorySigner, Key, Metadata, Root, TargetFile, Targets } from '../src/index.js';

function bestOf<T>(runs: number, fn: () => T): { ms: number; value: T } {
  let best = Number.POSITIVE_INFINITY;
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    value = fn();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms < best) best = ms;
  }
  return { ms: best, value: value as T };
}

/** Parse and verify a signed 100,000-target targets.json; returns the figures. */
export async function benchMetadata(
  targetCount = 100_000,
): Promise<Record<string, number | string>> {
  const signer = await InMemorySigner.generate('ed25519');
  const root = new Metadata(new Root({ expires: new Date('2030-01-01T00:00:00Z') }));
  root.signed.addKey(Key.fromPublicKeyData(signer.publicKey), 'targets');
  const targets = new Metadata(new Targets({ expires: new Date('2030-01-01T00:00:00Z') }));
  for (let i = 0; i < targetCount; i++) {
    const hex = i.toString(16).padStart(8, '0');
    targets.signed.addTarget(
      new TargetFile(
        `firmware/board-${i % 97}/image-${hex}.bin`,
        1_048_576 + i,
        { sha256: hex.repeat(8) },
        {
          version: `1.${i % 50}.${i % 7}`,
        },
      ),
    );
  }
  await targets.sign(signer);
  const bytes = targets.toBytes();
  const parse = bestOf(3, () => Metadata.fromBytes(bytes, 'targets'));
  const verify = bestOf(3, () => root.verifyDelegate('targets', parse.value));
  const jsonParse = bestOf(3, () => JSON.parse(new TextDecoder().decode(bytes)));
  return {
    'targets.json size (MB)': +(bytes.byteLength / 1e6).toFixed(1),
    'parse into model (ms)': Math.round(parse.ms),
    'verify threshold (ms)': Math.round(verify.ms),
    'parse + verify (ms)': Math.round(parse.ms + verify.ms),
    'reference: JSON.parse alone (ms)': Math.round(jsonParse.ms),
  };
}
