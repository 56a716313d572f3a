/**
 * The tufota client for the TUF conformance suite (theupdateframework/tuf-conformance,
 * `CLIENT-CLI.md`): a thin command line over the public `Updater` API, so the suite tests the
 * library exactly as integrators use it. One process per call; options come before the
 * subcommand, in any order:
 *
 * ```
 * tuf-conformance-client --metadata-dir MD init ROOTFILE
 * tuf-conformance-client --metadata-url URL --metadata-dir MD refresh
 * tuf-conformance-client --metadata-url URL --metadata-dir MD --target-name T [--target-name T2 …]
 *                        --target-dir TD --target-base-url URL download
 * ```
 *
 * - `init` stores ROOTFILE's bytes as the trusted `MD/root.json` (after checking they parse as
 *   root metadata); no network.
 * - `refresh` runs the TUF client workflow (root chain, timestamp, snapshot, targets).
 * - `download` refreshes, then makes each named target available in TD, in order, with one
 *   Updater, stopping at the first failure; a name no trusted role lists is a failure. A file
 *   already in TD that verifies is not downloaded again.
 *
 * MD holds only trusted metadata, as the exact bytes received, named `root.json`,
 * `timestamp.json`, `snapshot.json`, `targets.json` and `<percent-encoded role>.json`
 * (`FsMetadataStore`). TD never holds an unverified file under a target's name (`Updater`
 * streams into a temporary file and renames it after verification). The reference time is the
 * system clock.
 *
 * Exit status: 0 on success; exactly 1 on any failure, usage errors included, with one line on
 * standard error naming the error code.
 *
 * Does not implement: `--days-in-future` / `--max-root-rotations` (options of older suite
 * versions), TLS options, proxies.
 *
 * @module
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Updater } from '../src/client/index.js';
import { TargetNotFoundError, TufError, UsageError } from '../src/errors.js';
import { FsMetadataStore } from '../src/storage/fs-metadata-store.js';
import { HttpFetcher } from '../src/transport/index.js';

/** Largest trusted root file `init` reads: the Updater's default root download cap. */
const MAX_ROOT_FILE_LENGTH = 512_000;

/** The parsed command line. */
export interface ConformanceArgs {
  metadataUrl?: string;
  metadataDir?: string;
  targetNames: string[];
  targetDir?: string;
  targetBaseUrl?: string;
  command: 'init' | 'refresh' | 'download';
  /** Positional arguments after the subcommand (`init`'s ROOTFILE). */
  operands: string[];
}

const USAGE = `usage:
  tuf-conformance-client --metadata-dir MD init ROOTFILE
  tuf-conformance-client --metadata-url URL --metadata-dir MD refresh
  tuf-conformance-client --metadata-url URL --metadata-dir MD --target-name T [--target-name T …]
                         --target-dir TD --target-base-url URL download`;

const SINGLE_OPTIONS = {
  '--metadata-url': 'metadataUrl',
  '--metadata-dir': 'metadataDir',
  '--target-dir': 'targetDir',
  '--target-base-url': 'targetBaseUrl',
} as const;

/**
 * Parse the command line (without `node` and the script path).
 *
 * @throws UsageError for an unknown, repeated or valueless option, a missing subcommand,
 *   a missing required option, or extra operands.
 */
export function parseArgs(argv: readonly string[]): ConformanceArgs {
  const values: Partial<Record<(typeof SINGLE_OPTIONS)[keyof typeof SINGLE_OPTIONS], string>> = {};
  const targetNames: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith('--')) break;
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    let value: string | undefined;
    if (eq >= 0) {
      value = token.slice(eq + 1);
    } else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (name === '--target-name') {
      targetNames.push(value);
      continue;
    }
    const key = Object.hasOwn(SINGLE_OPTIONS, name)
      ? SINGLE_OPTIONS[name as keyof typeof SINGLE_OPTIONS]
      : undefined;
    if (key === undefined) throw new UsageError(`unknown option ${name}`);
    if (values[key] !== undefined) throw new UsageError(`${name} given twice`);
    if (value.length === 0) throw new UsageError(`${name} must not be empty`);
    values[key] = value;
  }
  const command = argv[i];
  const operands = argv.slice(i + 1);
  if (command !== 'init' && command !== 'refresh' && command !== 'download') {
    throw new UsageError(
      command === undefined ? 'no subcommand given' : `unknown subcommand ${command}`,
    );
  }
  const args: ConformanceArgs = { ...values, targetNames, command, operands };
  const need = (present: unknown, option: string): void => {
    if (present === undefined) throw new UsageError(`${command} needs ${option}`);
  };
  need(args.metadataDir, '--metadata-dir');
  if (command === 'init') {
    if (operands.length !== 1) throw new UsageError('init takes exactly one ROOTFILE');
  } else if (operands.length !== 0) {
    throw new UsageError(`${command} takes no operands, got ${operands.join(' ')}`);
  }
  if (command === 'refresh' || command === 'download') need(args.metadataUrl, '--metadata-url');
  if (command === 'download') {
    need(args.targetDir, '--target-dir');
    need(args.targetBaseUrl, '--target-base-url');
    if (targetNames.length === 0) throw new UsageError('download needs at least one --target-name');
  } else if (targetNames.length > 0) {
    throw new UsageError(`--target-name is only valid with download`);
  }
  return args;
}

/** Run one command. Resolves on success; rejects with the reason on any failure. */
export async function run(args: ConformanceArgs): Promise<void> {
  const metadataDir = args.metadataDir as string;
  if (args.command === 'init') {
    const rootFile = args.operands[0] as string;
    const bytes = await readFile(rootFile);
    if (bytes.byteLength > MAX_ROOT_FILE_LENGTH) {
      throw new UsageError(
        `${rootFile} is ${bytes.byteLength} bytes, more than ${MAX_ROOT_FILE_LENGTH}`,
      );
    }
    // init is explicit provisioning: it replaces whatever trust anchor was there.
    await FsMetadataStore.init(metadataDir, new Uint8Array(bytes), { overwrite: true });
    return;
  }
  const fetcher = new HttpFetcher();
  try {
    const updater = await Updater.create({
      metadataBaseUrl: args.metadataUrl as string,
      targetBaseUrl: args.targetBaseUrl,
      targetDir: args.targetDir,
      fetcher,
      metadataStore: new FsMetadataStore(metadataDir),
    });
    await updater.refresh();
    if (args.command === 'refresh') return;
    for (const name of args.targetNames) {
      const info = await updater.getTargetInfo(name);
      if (info === undefined)
        throw new TargetNotFoundError(`no trusted targets role lists ${name}`);
      await updater.downloadTarget(info);
    }
  } finally {
    // Drop keep-alive sockets so the process exits at once.
    await fetcher.close();
  }
}

/** Entry point: parse, run, and turn the outcome into an exit status (0 or exactly 1). */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await run(parseArgs(argv));
    return 0;
  } catch (error) {
    const code =
      error instanceof TufError ? error.code : ((error as { code?: string }).code ?? 'ERROR');
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`tuf-conformance-client: ${code}: ${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    return 1;
  }
}

/** True when this file is the program being run (not imported, e.g. by a test). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
