/**
 * Test harness for the TUF client: an in-memory metadata store and a "device" that starts a
 * fresh `Updater` against a `RepositorySimulator` each time (a restart), so tests exercise the
 * whole load-cache → refresh → persist cycle.
 *
 * @module
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { UpdaterConfig } from '../../src/client/config.js';
import type { Fetcher } from '../../src/client/fetcher.js';
import { MemoryMetadataStore as LibraryMemoryMetadataStore } from '../../src/client/memory-metadata-store.js';
import type { MetadataStore } from '../../src/client/metadata-store.js';
import { Updater } from '../../src/client/updater.js';
import { Metadata, type TargetFile } from '../../src/models/index.js';
import type { RepositorySimulator } from '../../src/testing/index.js';

/** The library's in-memory store, with helpers for assertions. */
export class MemoryMetadataStore extends LibraryMemoryMetadataStore {
  /** The version of the stored metadata of `role`, or undefined. */
  version(role: string): number | undefined {
    const bytes = this.files.get(role);
    return bytes === undefined ? undefined : Metadata.fromBytes(bytes).signed.version;
  }

  /** Stored role names, sorted. */
  roles(): string[] {
    return [...this.files.keys()].sort();
  }
}

/** Options of {@link Device}. */
export interface DeviceOptions {
  config?: Partial<UpdaterConfig>;
  /** Fetch through this instead of the simulator itself (an AttackFetcher, an HttpFetcher). */
  fetcher?: Fetcher;
  metadataBaseUrl?: string;
  targetBaseUrl?: string;
  store?: MetadataStore;
}

/**
 * A client device: trusted root v1 of `sim` in its store, a target directory, and a fresh
 * `Updater` per {@link Device.start} (as after a reboot).
 */
export class Device {
  readonly sim: RepositorySimulator;
  readonly store: MetadataStore;
  readonly targetDir: string;
  readonly #options: DeviceOptions;

  private constructor(
    sim: RepositorySimulator,
    store: MetadataStore,
    targetDir: string,
    options: DeviceOptions,
  ) {
    this.sim = sim;
    this.store = store;
    this.targetDir = targetDir;
    this.#options = options;
  }

  /** A device that trusts `sim`'s first published root (or the root bytes given). */
  static async create(
    sim: RepositorySimulator,
    options: DeviceOptions = {},
    trustedRoot?: Uint8Array,
  ): Promise<Device> {
    const store = options.store ?? new MemoryMetadataStore();
    const root = trustedRoot ?? sim.signedRoots[0];
    if (root === undefined) throw new Error('the simulator has published no root');
    await store.save('root', root);
    if (store instanceof MemoryMetadataStore) store.saves.length = 0;
    const targetDir = await mkdtemp(join(tmpdir(), 'tufota-targets-'));
    return new Device(sim, store, targetDir, options);
  }

  /** The in-memory store (throws if the device uses another kind). */
  get memoryStore(): MemoryMetadataStore {
    if (!(this.store instanceof MemoryMetadataStore)) throw new Error('not a memory store');
    return this.store;
  }

  /** A new Updater, as after a restart (loads and re-verifies whatever the store holds). */
  async start(config?: Partial<UpdaterConfig>): Promise<Updater> {
    return Updater.create({
      metadataBaseUrl: this.#options.metadataBaseUrl ?? this.sim.metadataBaseUrl,
      targetBaseUrl: this.#options.targetBaseUrl ?? this.sim.targetBaseUrl,
      targetDir: this.targetDir,
      fetcher: this.#options.fetcher ?? this.sim,
      metadataStore: this.store,
      config: { ...this.#options.config, ...config },
    });
  }

  /** Start a new Updater and refresh it. */
  async refresh(config?: Partial<UpdaterConfig>): Promise<Updater> {
    const updater = await this.start(config);
    await updater.refresh();
    return updater;
  }

  /** Files in the target directory, sorted. */
  async targetFiles(): Promise<string[]> {
    return (await readdir(this.targetDir, { recursive: true })).sort();
  }

  async dispose(): Promise<void> {
    await rm(this.targetDir, { recursive: true, force: true });
  }
}

/**
 * For the calling spec file (or `describe`): a {@link Device.create} whose devices are disposed
 * after each test.
 */
export function useDevices(): (...args: Parameters<typeof Device.create>) => Promise<Device> {
  const devices: Device[] = [];
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.dispose()));
  });
  return async (...args) => {
    const device = await Device.create(...args);
    devices.push(device);
    return device;
  };
}

/** Assert that `promise` rejects with a TufError whose `code` is `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a rejection with ${code}`).toBeInstanceOf(Error);
  expect((error as { code?: unknown }).code).toBe(code);
  return error as Error;
}

/** Assert that no trusted role vouches for `path`. */
export async function expectNoTarget(updater: Updater, path: string): Promise<void> {
  expect(await updater.getTargetInfo(path)).toBeUndefined();
}

/** Look up `path`, failing the test when no trusted role vouches for it. */
export async function mustGetTarget(updater: Updater, path: string): Promise<TargetFile> {
  const info = await updater.getTargetInfo(path);
  expect(info, `target ${path} should be found`).toBeDefined();
  return info as TargetFile;
}

/** Bytes of a string. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A date `days` before now, at whole seconds. */
export function daysAgo(days: number): Date {
  return new Date(Math.floor((Date.now() - days * 86_400_000) / 1000) * 1000);
}
