/**
 * Benchmark of tufota's cryptography: target hashing throughput against `openssl dgst`, and
 * signature operations per second for every scheme tufota verifies.
 *
 * - `sha256_*`: SHA-256 over a 1 GiB file (created once under `.bench-tmp/`, read through the page
 *   cache) with our `hashFile` (two reused buffers, the next read in flight while the current
 *   chunk is hashed), beside `openssl dgst -sha256` on the same file in the same run; also
 *   `hashStream` fed by `fs.createReadStream` (1 MiB chunks), which reads and hashes one after
 *   the other. Best of 5 runs each, alternating, 1 MB = 10^6 bytes. Goal: ours at least 90% of
 *   openssl's rate.
 * - `ed25519_verify_per_s_node` / `_noble`, `ed25519_sign_per_s_node`, `ecdsa_p256_verify_per_s`,
 *   `rsa_pss_3072_verify_per_s`: operations per second over about one second each, through the
 *   providers (so with the parsed-key cache the client uses).
 *
 * Not a test: timings depend on the machine. Uses the file system and `child_process`, which is
 * fine here (bench/ is not the pure core).
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashStream } from '../src/crypto/hash.js';
import { nobleCryptoProvider } from '../src/crypto/noble-provider.js';
import { nodeCryptoProvider } from '../src/crypto/node-provider.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { InMemorySigner } from '../src/crypto/signer.js';
import { hashFile } from '../src/storage/file-chunks.js';

const execFileAsync = promisify(execFile);

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
const HASH_RUNS = 5;
const OPS_SECONDS = 1;

const round1 = (x: number): number => Math.round(x * 10) / 10;
const mbPerSecond = (bytes: number, ms: number): number => round1(bytes / 1e6 / (ms / 1e3));

/** Create (once) a 1 GiB file of pseudo-random bytes and return its path. */
async function benchFile(dir: string): Promise<string> {
  const path = join(dir, 'hash-1gib.bin');
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === GIB) return path;
  await mkdir(dir, { recursive: true });
  const handle = await open(path, 'w');
  try {
    // A 1 MiB block of xorshift output, varied per block so nothing is trivially compressible.
    const block = new Uint32Array(MIB / 4);
    let x = 0x9e3779b9;
    for (let i = 0; i < GIB / MIB; i++) {
      for (let j = 0; j < block.length; j++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        block[j] = x >>> 0;
      }
      await handle.write(new Uint8Array(block.buffer));
    }
  } finally {
    await handle.close();
  }
  return path;
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function hashOnce(path: string, highWaterMark: number): Promise<string> {
  const result = await hashStream(createReadStream(path, { highWaterMark }), ['sha256']);
  return result.hashes.sha256 ?? '';
}

async function hashFigures(dir: string): Promise<Record<string, number | string>> {
  const path = await benchFile(dir);
  const best = {
    stream: Number.POSITIVE_INFINITY,
    reused: Number.POSITIVE_INFINITY,
    openssl: Number.POSITIVE_INFINITY,
  };
  const digests = new Set<string>();
  // Warm the page cache so every run reads from memory, then alternate so none gets the cold run.
  digests.add(await hashOnce(path, MIB));
  for (let r = 0; r < HASH_RUNS; r++) {
    best.openssl = Math.min(
      best.openssl,
      await timeMs(async () => {
        const { stdout } = await execFileAsync('openssl', ['dgst', '-sha256', '-r', path]);
        digests.add(stdout.split(' ')[0] ?? '');
      }),
    );
    best.stream = Math.min(
      best.stream,
      await timeMs(async () => digests.add(await hashOnce(path, MIB))),
    );
    best.reused = Math.min(
      best.reused,
      await timeMs(async () => {
        const result = await hashFile(path, ['sha256']);
        digests.add(result.hashes.sha256 ?? '');
      }),
    );
  }
  if (digests.size !== 1) throw new Error(`digest mismatch: ${[...digests].join(' ')}`);
  const stream = mbPerSecond(GIB, best.stream);
  const reused = mbPerSecond(GIB, best.reused);
  const openssl = mbPerSecond(GIB, best.openssl);
  const ratio = (x: number) => Math.round((x / openssl) * 1000) / 1000;
  return {
    sha256_hashfile_read_ahead_mb_per_s: reused,
    sha256_openssl_dgst_mb_per_s: openssl,
    sha256_ratio_vs_openssl_hashfile: ratio(reused),
    sha256_hashstream_createreadstream_1mib_mb_per_s: stream,
    sha256_ratio_vs_openssl_createreadstream_1mib: ratio(stream),
  };
}

/** Operations per second of `op`, run for about {@link OPS_SECONDS}. */
async function opsPerSecond(op: () => unknown): Promise<number> {
  for (let i = 0; i < 10; i++) await op(); // warm up (and fill key caches)
  let count = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(OPS_SECONDS * 1e9);
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 10; i++) await op();
    count += 10;
    elapsed = process.hrtime.bigint() - start;
  }
  return Math.round(count / (Number(elapsed) / 1e9));
}

async function verifyRate(
  provider: CryptoProvider,
  signer: InMemorySigner,
  data: Uint8Array,
): Promise<number> {
  const sig = await signer.sign(data);
  if (!provider.verify(signer.publicKey, sig, data)) throw new Error('benchmark signature invalid');
  return opsPerSecond(() => provider.verify(signer.publicKey, sig, data));
}

async function signatureFigures(): Promise<Record<string, number>> {
  // A timestamp.json-sized payload.
  const data = new Uint8Array(512).fill(0x61);
  const ed = await InMemorySigner.generate('ed25519');
  const ec = await InMemorySigner.generate('ecdsa');
  const rsa = await InMemorySigner.generate('rsa');
  return {
    ed25519_verify_per_s_node: await verifyRate(nodeCryptoProvider, ed, data),
    ed25519_verify_per_s_noble: await verifyRate(nobleCryptoProvider, ed, data),
    ed25519_sign_per_s_node: await opsPerSecond(() => ed.sign(data)),
    ecdsa_p256_verify_per_s: await verifyRate(nodeCryptoProvider, ec, data),
    rsa_pss_3072_verify_per_s: await verifyRate(nodeCryptoProvider, rsa, data),
  };
}

/**
 * Run the benchmark and return the figures (and print them when run as a script).
 *
 * @example
 * ```ts
 * const figures = await benchCrypto();
 * console.log(figures.sha256_ratio_vs_openssl);
 * ```
 */
export async function benchCrypto(
  options: { readonly dir?: string } = {},
): Promise<Record<string, number | string>> {
  const dir = options.dir ?? join(process.cwd(), '.bench-tmp');
  const figures: Record<string, number | string> = {
    node: process.version,
    ...(await hashFigures(dir)),
    ...(await signatureFigures()),
  };
  return figures;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchCrypto().then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
