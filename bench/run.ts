/**
 * `npm run bench [-- NAME …]`: runs the benchmarks (all, or the named ones) on this machine and
 * prints each figure beside its reference measured in the same run. Not part of `npm test`:
 * timing goals are judged here, never by timed tests.
 *
 * Benchmarks: canonical (encode/parse MB/s), metadata (parse + verify a 100,000-target
 * targets.json), crypto (SHA-256 vs openssl, signatures/s), fetch (HttpFetcher vs global fetch),
 * repository (100,000 targets in 1,024 bins), client (our Updater vs tuf-js), device (2 GiB
 * install vs `cat`), fleet-load (10,000 simulated devices against the fleet server). and, only when named, client-instructions (the client's (a) and (b) as
 * callgrind instruction counts, repeatable on a loaded machine).
 *
 * Each benchmark runs in a process of its own, so that one's memory (the 17 MB documents of
 * `canonical`, say) neither shows in another's peak RSS nor slows it down through the GC.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Figures = Record<string, unknown> | Record<string, unknown>[];

const BENCHES: Record<string, { module: string; fn: string }> = {
  canonical: { module: './canonical.js', fn: 'benchCanonical' },
  metadata: { module: './metadata.js', fn: 'benchMetadata' },
  crypto: { module: './crypto.js', fn: 'benchCrypto' },
  fetch: { module: './fetch.js', fn: 'benchFetch' },
  repository: { module: './repository.js', fn: 'benchRepository' },
  client: { module: './client.js', fn: 'benchClient' },
  'client-instructions': { module: './client-instructions.js', fn: 'benchClientInstructions' },
  device: { module: './device.js', fn: 'benchDevice' },
  'fleet-load': { module: './fleet-load.js', fn: 'benchFleetLoad' },
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in BENCHES));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  // client-instructions runs children under valgrind (minutes): only when named.
  const names =
    requested.length > 0
      ? requested
      : Object.keys(BENCHES).filter((name) => name !== 'client-instructions');
  if (names.length > 1) {
    console.log(
      `tufota benchmarks on node ${process.version}, ${process.platform}/${process.arch}`,
    );
    for (const name of names) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, TUFOTA_BENCH_ONE: '1' },
      });
      if (child.status !== 0) process.exitCode = 1;
    }
    return;
  }
  if (process.env.TUFOTA_BENCH_ONE !== '1') {
    console.log(
      `tufota benchmarks on node ${process.version}, ${process.platform}/${process.arch}`,
    );
  }
  for (const name of names) {
    const bench = BENCHES[name] as { module: string; fn: string };
    const url = new URL(bench.module, import.meta.url);
    if (!existsSync(fileURLToPath(url))) {
      console.log(`\n## ${name}: not built (missing ${bench.module})`);
      continue;
    }
    console.log(`\n## ${name}`);
    const started = process.hrtime.bigint();
    try {
      const mod = (await import(url.href)) as Record<string, () => Promise<Figures>>;
      const run = mod[bench.fn];
      if (run === undefined) throw new Error(`${bench.module} does not export ${bench.fn}`);
      const figures = await run();
      if (Array.isArray(figures)) console.table(figures);
      else console.table(Object.entries(figures).map(([figure, value]) => ({ figure, value })));
    } catch (error) {
      console.error(`${name} failed:`, error);
      process.exitCode = 1;
    }
    console.log(`(${name}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);
  }
}

await main();
