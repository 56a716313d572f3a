/**
 * One measured client run of the client benchmark (`bench/client.ts`), in its own process so
 * that its peak RSS is its own: `node dist/bench/client-child.js JOB.json` runs one phase with
 * one client and prints one JSON line `{ ms, maxRssMiB, found }` on stdout.
 *
 * Each run starts from an empty client cache holding only the trusted `root.json`. Setup that a
 * phase needs but does not measure (the refresh before (b), the look-ups before (c)) runs
 * first; only the phase itself is timed, while the reported peak RSS is the whole process's up
 * to the end of the phase. The client library is imported dynamically, so the other one is
 * never loaded into the process; so are the modules only the floor needs, so that a
 * {@link ClientJob.freshProcess} run of (a) counts nothing but the client's own loading.
 *
 * @module
 */
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { peakRssMiB } from './peak-rss.js';

/** What the parent asks one child to do. */
export interface ClientJob {
  /**
   * `floor`: phase (c) only, the work any client must do per target here, without TUF: one
   * GET on a keep-alive socket, sha256 and sha512 over the bytes, a write into a temporary
   * file, fsync, rename, fsync of the directory. It shows how much of (c) is left to gain.
   */
  client: 'tufota' | 'tuf-js' | 'floor';
  /** `a`: cold refresh + one look-up; `b`: the look-ups; `c`: the downloads. */
  phase: 'a' | 'b' | 'c';
  /** An empty directory for this run's metadata cache and targets. */
  workDir: string;
  /** The trusted root, as shipped to the device. */
  rootPath: string;
  metadataBaseUrl: string;
  targetBaseUrl: string;
  /** Target paths looked up in phase (b); the first is the phase (a) look-up. */
  lookups: string[];
  /** Target paths downloaded in phase (c). */
  downloads: string[];
  /** Downloads in flight at once in phase (c); default 1. */
  concurrency?: number;
  /**
   * Phase (a) only: the parent times this process from spawn to exit, so the figure includes
   * Node's start-up and the client's module loading, as one conformance-client call does. The
   * child reports its CPU time since the process started. With client `floor` the child does
   * nothing: the cost of starting Node and this harness, which no client can beat.
   */
  freshProcess?: boolean;
}

/** What one child reports. */
export interface ClientRunResult {
  /** Wall time of the measured phase. */
  ms: number;
  /** CPU time (user + system) of the child during the measured phase. */
  cpuMs: number;
  /** Peak resident set size of the child process at the end of the phase. */
  maxRssMiB: number;
  /** Look-ups that found their target, or files downloaded: a check that the work was done. */
  found: number;
  /** CPU time (user + system) of the whole process, start-up included, at the end. */
  processCpuMs: number;
}

/** The operations a phase needs, the same for both clients. */
interface ClientDriver {
  refresh(): Promise<void>;
  /** Resolves to an opaque target info, or undefined when no role lists the path. */
  lookup(targetPath: string): Promise<unknown>;
  download(info: unknown, file: string): Promise<void>;
}

async function tufotaDriver(job: ClientJob, metadataDir: string, targetDir: string) {
  const { FsMetadataStore, HttpFetcher, Updater } = await import('../src/client/index.js');
  const rootBytes = new Uint8Array(await readFile(job.rootPath));
  const updater = await Updater.create({
    metadataBaseUrl: job.metadataBaseUrl,
    targetBaseUrl: job.targetBaseUrl,
    targetDir,
    fetcher: new HttpFetcher(),
    metadataStore: await FsMetadataStore.init(metadataDir, rootBytes),
  });
  type Info = Parameters<typeof updater.downloadTarget>[0];
  return {
    refresh: () => updater.refresh(),
    lookup: (targetPath) => updater.getTargetInfo(targetPath),
    download: async (info, file) => {
      await updater.downloadTarget(info as Info, file);
    },
    updater,
  } satisfies ClientDriver & { updater: unknown };
}

async function tufJsDriver(job: ClientJob, metadataDir: string, targetDir: string) {
  const { Updater } = await import('tuf-js');
  // tuf-js reads the trusted root from `metadataDir/root.json`.
  await mkdir(metadataDir, { recursive: true });
  await writeFile(path.join(metadataDir, 'root.json'), await readFile(job.rootPath));
  const updater = new Updater({
    metadataDir,
    metadataBaseUrl: job.metadataBaseUrl,
    targetDir,
    targetBaseUrl: job.targetBaseUrl,
  });
  type Info = Parameters<typeof updater.downloadTarget>[0];
  return {
    refresh: () => updater.refresh(),
    lookup: (targetPath) => updater.getTargetInfo(targetPath),
    download: async (info, file) => {
      await updater.downloadTarget(info as Info, file);
    },
  } satisfies ClientDriver;
}

/**
 * Our Updater for refresh (and for the look-ups before (c), unmeasured), the bare download
 * sequence of {@link ClientJob.client} `floor` for the downloads, and for the look-ups of (b)
 * the work each hash bin needs whatever the client: one GET on a keep-alive socket, the length
 * and sha256 the snapshot lists, a JSON parse, one ed25519 verification, a cache write
 * (temporary file and rename, no fsync), and the entry's look-up. It knows the repository's
 * shape (succinct bins, one ed25519 key, compact key-sorted JSON, so the signed bytes are found
 * in the file) and checks nothing else: no TUF client can do less.
 */
async function floorDriver(job: ClientJob, metadataDir: string, targetDir: string) {
  const ours = await tufotaDriver(job, metadataDir, targetDir);
  const bins = new Map<string, Record<string, unknown>>();
  const floorLookup = async (targetPath: string): Promise<unknown> => {
    const { createHash, createPublicKey, verify } = await import('node:crypto');
    const { writeFileSync, renameSync } = await import('node:fs');
    const set = ours.updater.trustedSet;
    const delegations = set.targets?.signed.delegations;
    const succinct = delegations?.succinctRoles;
    if (delegations === undefined || succinct === undefined) throw new Error('no succinct bins');
    const role = succinct.getRoleForTarget(targetPath);
    let targets = bins.get(role);
    if (targets === undefined) {
      const meta = set.snapshot?.signed.meta[`${role}.json`];
      if (meta === undefined) throw new Error(`snapshot lists no ${role}`);
      const bytes = await getBytes(`${job.metadataBaseUrl}${meta.version}.${role}.json`);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (bytes.byteLength !== meta.length || sha256 !== meta.hashes?.sha256) {
        throw new Error(`${role}: length or hash mismatch`);
      }
      const text = bytes.toString('latin1');
      const document = JSON.parse(text) as {
        signed: { targets: Record<string, unknown> };
        signatures: { keyid: string; sig: string }[];
      };
      const signature = document.signatures[0];
      const key = signature === undefined ? undefined : delegations.keys[signature.keyid];
      const start = text.indexOf('"signed":') + '"signed":'.length;
      if (key === undefined || signature === undefined || !text.endsWith('}')) {
        throw new Error(`${role}: unexpected shape`);
      }
      const publicKey = createPublicKey({
        key: Buffer.concat([
          Buffer.from('302a300506032b6570032100', 'hex'),
          Buffer.from(key.keyval.public, 'hex'),
        ]),
        format: 'der',
        type: 'spki',
      });
      const signed = bytes.subarray(start, bytes.byteLength - 1);
      if (!verify(null, signed, publicKey, Buffer.from(signature.sig, 'hex'))) {
        throw new Error(`${role}: bad signature`);
      }
      const file = path.join(metadataDir, `${role}.json`);
      writeFileSync(`${file}.tmp`, bytes);
      renameSync(`${file}.tmp`, file);
      targets = document.signed.targets;
      bins.set(role, targets);
    }
    return Object.hasOwn(targets, targetPath) ? targets[targetPath] : undefined;
  };
  const [{ createHash }, http, { targetUrlPath }] = await Promise.all([
    import('node:crypto'),
    import('node:http'),
    import('../src/client/role-names.js'),
  ]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const getBytes = async (url: string): Promise<Buffer> => {
    const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
      http.get(url, { agent }, resolve).on('error', reject),
    );
    if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode}`);
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  let temps = 0;
  return {
    refresh: ours.refresh,
    lookup: job.phase === 'b' ? floorLookup : ours.lookup,
    download: async (info, file) => {
      const { path: targetPath, hashes } = info as { path: string; hashes: Record<string, string> };
      // Consistent snapshots: the file is served under its first hash, as both clients fetch it.
      const url = `${job.targetBaseUrl}${targetUrlPath(targetPath, Object.values(hashes)[0])}`;
      const temp = `${file}.tmp-${temps++}`;
      const handle = await open(temp, 'wx');
      try {
        const sha256 = createHash('sha256');
        const sha512 = createHash('sha512');
        const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
          http.get(url, { agent }, resolve).on('error', reject),
        );
        if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode}`);
        let position = 0;
        for await (const chunk of response as AsyncIterable<Buffer>) {
          sha256.update(chunk);
          sha512.update(chunk);
          await handle.write(chunk, 0, chunk.byteLength, position);
          position += chunk.byteLength;
        }
        sha256.digest();
        sha512.digest();
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      const dir = await open(path.dirname(file), 'r');
      await dir.sync();
      await dir.close();
    },
  } satisfies ClientDriver;
}

/** Run `job` and return its figures. */
export async function runClientJob(job: ClientJob): Promise<ClientRunResult> {
  const metadataDir = path.join(job.workDir, 'metadata');
  const targetDir = path.join(job.workDir, 'targets');
  await mkdir(targetDir, { recursive: true });
  const make =
    job.client === 'tufota' ? tufotaDriver : job.client === 'floor' ? floorDriver : tufJsDriver;
  let found = 0;
  let ms: number;
  let cpu: NodeJS.CpuUsage;
  if (job.phase === 'a' && job.client === 'floor') {
    // The floor of a fresh-process (a): start Node and this harness, do nothing, exit.
    found = 1;
    ms = 0;
    cpu = { user: 0, system: 0 };
  } else if (job.phase === 'a') {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const client = await make(job, metadataDir, targetDir);
    await client.refresh();
    if ((await client.lookup(job.lookups[0] as string)) !== undefined) found++;
    ms = performance.now() - start;
    cpu = process.cpuUsage(cpuStart);
  } else if (job.phase === 'b') {
    const client = await make(job, metadataDir, targetDir);
    await client.refresh();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    for (const targetPath of job.lookups) {
      if ((await client.lookup(targetPath)) !== undefined) found++;
    }
    ms = performance.now() - start;
    cpu = process.cpuUsage(cpuStart);
  } else {
    const client = await make(job, metadataDir, targetDir);
    await client.refresh();
    const infos: unknown[] = [];
    for (const targetPath of job.downloads) {
      const info = await client.lookup(targetPath);
      if (info === undefined) throw new Error(`${job.client} found no target ${targetPath}`);
      infos.push(info);
    }
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    // `concurrency` downloads in flight at once (1: one after the other). Both clients allow
    // concurrent downloadTarget calls, each into its own temporary file.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < infos.length) {
        const i = next++;
        await client.download(infos[i], path.join(targetDir, `download-${i}.bin`));
        found++;
      }
    };
    await Promise.all(Array.from({ length: job.concurrency ?? 1 }, worker));
    ms = performance.now() - start;
    cpu = process.cpuUsage(cpuStart);
  }
  return {
    ms,
    cpuMs: cpuMs(cpu),
    maxRssMiB: peakRssMiB(),
    found,
    processCpuMs: cpuMs(process.cpuUsage()),
  };
}

function cpuMs(cpu: NodeJS.CpuUsage): number {
  return (cpu.user + cpu.system) / 1000;
}

const jobPath = process.argv[2];
if (
  jobPath !== undefined &&
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const job = JSON.parse(await readFile(jobPath, 'utf8')) as ClientJob;
  const result = await runClientJob(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Keep-alive sockets of either fetcher must not hold the process open.
  process.exit(0);
}
