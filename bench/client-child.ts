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
   * `floor`: the work any client must do here, without TUF's structure, in each phase: (a)
   * {@link floorRefresh}; (b) the per-bin work of {@link floorDriver}; (c) one GET, sha256 and
   * sha512 over the bytes, a write into a temporary file, fsync, rename, fsync of the directory
   * per target. It shows how much of a phase is left to gain. `start` (phase (a), fresh
   * process only): start Node and this harness, and exit.
   */
  client: 'tufota' | 'tuf-js' | 'floor' | 'start';
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

/** A parsed metadata file of the bench repository, as the floor reads it. */
interface FloorDocument {
  signed: Record<string, unknown> & {
    version: number;
    meta?: Record<string, { version: number; length?: number; hashes?: { sha256?: string } }>;
    roles?: Record<string, { keyids: string[] }>;
    keys?: Record<string, { keyval: { public: string } }>;
    delegations?: {
      keys: Record<string, { keyval: { public: string } }>;
      succinct_roles: { bit_length: number; name_prefix: string };
    };
    targets?: Record<string, unknown>;
  };
  signatures: { keyid: string; sig: string }[];
}

/**
 * The floor of (a): the work any client must do for a cold refresh and one look-up in this
 * repository, and nothing else. Five GETs on one keep-alive socket (the next root, which is
 * absent, then timestamp, snapshot, targets and the target's hash bin); for each file the
 * length and sha256 its parent lists, one `JSON.parse`, one ed25519 verification over the
 * signed bytes (found in the file: the repository writes compact key-sorted JSON), and a cache
 * write: temporary file and rename, made durable (fsync of the file and the directory) for
 * root, timestamp and snapshot, the trust anchor and rollback floors a device must not lose in
 * a power cut, as `FsMetadataStore` does (python-tuf and tuf-js do not fsync; the durable
 * writes cost about 6 ms here). The trusted root is checked against itself, as python-tuf
 * does. No expiry, version or format checks, no models: no TUF client that keeps its trust
 * state durable can do less, so a fresh process doing this bounds what a Node client can reach.
 */
async function floorRefresh(job: ClientJob, metadataDir: string): Promise<unknown> {
  const [{ createHash, createPublicKey, verify }, http, fs] = await Promise.all([
    import('node:crypto'),
    import('node:http'),
    import('node:fs'),
  ]);
  const { writeFileSync, renameSync, mkdirSync, openSync, fsyncSync, closeSync } = fs;
  const fsync = (file: string, flags: string) => {
    const fd = openSync(file, flags);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  mkdirSync(metadataDir, { recursive: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = async (url: string): Promise<Buffer | undefined> => {
    const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
      http.get(url, { agent }, resolve).on('error', reject),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode}`);
    return Buffer.concat(chunks);
  };
  const publicKey = (hex: string) =>
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(hex, 'hex')]),
      format: 'der',
      type: 'spki',
    });
  /** Parse, check one signature by `keyHex`, cache as `name`. */
  const accept = (bytes: Buffer, name: string, keyOf: (d: FloorDocument) => string) => {
    const text = bytes.toString('latin1');
    const document = JSON.parse(text) as FloorDocument;
    const signature = document.signatures[0];
    const start = text.indexOf('"signed":') + '"signed":'.length;
    if (signature === undefined || !text.endsWith('}')) throw new Error(`${name}: shape`);
    const signed = bytes.subarray(start, bytes.byteLength - 1);
    const key = publicKey(keyOf(document));
    if (!verify(null, signed, key, Buffer.from(signature.sig, 'hex'))) {
      throw new Error(`${name}: bad signature`);
    }
    const file = path.join(metadataDir, `${name}.json`);
    writeFileSync(`${file}.tmp`, bytes);
    const durable = name === 'root' || name === 'timestamp' || name === 'snapshot';
    if (durable) fsync(`${file}.tmp`, 'r+');
    renameSync(`${file}.tmp`, file);
    if (durable) fsync(metadataDir, 'r');
    return document;
  };
  const checked = (
    bytes: Buffer | undefined,
    expected: { length?: number; hashes?: { sha256?: string } } | undefined,
    name: string,
  ) => {
    if (bytes === undefined || expected === undefined) throw new Error(`${name}: missing`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.byteLength !== expected.length || sha256 !== expected.hashes?.sha256) {
      throw new Error(`${name}: length or hash mismatch`);
    }
    return bytes;
  };
  const roleKey = (root: FloorDocument, role: string) => {
    const keyid = root.signed.roles?.[role]?.keyids[0] ?? '';
    return root.signed.keys?.[keyid]?.keyval.public ?? '';
  };
  try {
    const rootBytes = await readFile(job.rootPath);
    const root = accept(rootBytes, 'root', (d) => roleKey(d, 'root'));
    const base = job.metadataBaseUrl;
    if ((await get(`${base}${root.signed.version + 1}.root.json`)) !== undefined) {
      throw new Error('the floor expects no newer root');
    }
    const timestampBytes = await get(`${base}timestamp.json`);
    if (timestampBytes === undefined) throw new Error('timestamp: missing');
    const timestamp = accept(timestampBytes, 'timestamp', () => roleKey(root, 'timestamp'));
    const snapshotMeta = timestamp.signed.meta?.['snapshot.json'];
    const snapshotBytes = await get(`${base}${snapshotMeta?.version}.snapshot.json`);
    const snapshot = accept(checked(snapshotBytes, snapshotMeta, 'snapshot'), 'snapshot', () =>
      roleKey(root, 'snapshot'),
    );
    const targetsMeta = snapshot.signed.meta?.['targets.json'];
    const targetsBytes = await get(`${base}${targetsMeta?.version}.targets.json`);
    const targets = accept(
      targetsMeta?.hashes === undefined
        ? (targetsBytes as Buffer)
        : checked(targetsBytes, targetsMeta, 'targets'),
      'targets',
      () => roleKey(root, 'targets'),
    );
    const delegations = targets.signed.delegations;
    if (delegations === undefined) throw new Error('no succinct bins');
    const { bit_length: bits, name_prefix: prefix } = delegations.succinct_roles;
    const targetPath = job.lookups[0] as string;
    const index =
      createHash('sha256').update(targetPath, 'utf8').digest().readUInt32BE(0) >>> (32 - bits);
    const bin = `${prefix}-${index.toString(16).padStart(Math.ceil(bits / 4), '0')}`;
    const binMeta = snapshot.signed.meta?.[`${bin}.json`];
    const binBytes = await get(`${base}${binMeta?.version}.${bin}.json`);
    const binDocument = accept(
      binMeta?.hashes === undefined ? (binBytes as Buffer) : checked(binBytes, binMeta, bin),
      bin,
      (d) => delegations.keys[d.signatures[0]?.keyid ?? '']?.keyval.public ?? '',
    );
    const listed = binDocument.signed.targets ?? {};
    return Object.hasOwn(listed, targetPath) ? listed[targetPath] : undefined;
  } finally {
    agent.destroy();
  }
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
  if (job.phase === 'a' && job.client === 'start') {
    // Start Node and this harness, do nothing, exit: what every fresh Node process costs.
    found = 1;
    ms = 0;
    cpu = { user: 0, system: 0 };
  } else if (job.phase === 'a' && job.client === 'floor') {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    if ((await floorRefresh(job, metadataDir)) !== undefined) found++;
    ms = performance.now() - start;
    cpu = process.cpuUsage(cpuStart);
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
