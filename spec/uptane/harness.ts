/**
 * A whole Uptane vehicle on loopback for the end-to-end and attack tests: an image repository
 * (tufota `Repository`, served by the static server, one delegated role), a director (file
 * inventory, served over HTTP), a primary (HTTP readers) and two secondaries — `door-1` full
 * verification in process, `brake-1` partial verification over HTTP — each with a file-backed
 * A/B slot pair (`FileSlotController` + `BootSimulator`).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryMetadataStore } from '../../src/client/memory-metadata-store.js';
import { hashBytes, InMemorySigner } from '../../src/crypto/index.js';
import {
  Metadata,
  MetaFile,
  Snapshot,
  type TargetFile,
  type Targets,
  Timestamp,
} from '../../src/models/index.js';
import { Repository } from '../../src/repository/repository.js';
import { createStaticServer, type StaticServer } from '../../src/server/index.js';
import { FsRepositoryStorage } from '../../src/storage/fs-repository-storage.js';
import { HttpFetcher } from '../../src/transport/http-fetcher.js';
import {
  type ConsentCallback,
  createDirectorServer,
  createSecondaryServer,
  Director,
  type DirectorServer,
  type DirectorSigners,
  FileInventoryStore,
  HttpSecondaryTransport,
  httpImageFetcher,
  httpManifestSender,
  httpMetadataReader,
  InProcessSecondaryTransport,
  MemoryClockFloorStore,
  type MetadataReader,
  Primary,
  parseEnvelope,
  Secondary,
  type SecondaryServer,
  TrustedClock,
} from '../../src/uptane/index.js';
import { type DeviceRig, makeDeviceRig, makeImage, TUNING } from '../device/agent-helpers.js';

export const DEVICE = 'vin-1';
export const PRIMARY = 'gw-1';
export const FULL = 'door-1';
export const PARTIAL = 'brake-1';

/** One ECU's test fixtures. */
export interface EcuRig {
  serial: string;
  hardwareId: string;
  dev: DeviceRig;
  signer: InMemorySigner;
  store: MemoryMetadataStore;
  floor: MemoryClockFloorStore;
  /** Offset added to the real time by this ECU's clock (freeze and clock tests). */
  clockOffsetMs: number;
  clock: TrustedClock;
  agentOptions(): {
    slots: DeviceRig['slots'];
    stateDir: string;
    tuning: typeof TUNING;
    reboot: () => Promise<void>;
  };
}

async function ecuRig(serial: string, hardwareId: string): Promise<EcuRig> {
  const dev = await makeDeviceRig();
  const floor = new MemoryClockFloorStore();
  const rig: EcuRig = {
    serial,
    hardwareId,
    dev,
    signer: await InMemorySigner.generate('ed25519'),
    store: new MemoryMetadataStore(),
    floor,
    clockOffsetMs: 0,
    clock: undefined as unknown as TrustedClock,
    agentOptions: () => ({
      slots: dev.slots,
      stateDir: dev.stateDir,
      tuning: TUNING,
      reboot: async () => void (await dev.sim.simulateBoot()),
    }),
  };
  rig.clock = new TrustedClock({
    store: floor,
    systemTime: () => new Date(Date.now() + rig.clockOffsetMs),
  });
  return rig;
}

/** The images of the tests: path → bytes and custom. */
export const IMAGES = {
  gateway2: { path: 'gateway/fw-2.img', bytes: makeImage(200_000, 21), hw: 'gateway', rc: 2 },
  gateway1: { path: 'gateway/fw-1.img', bytes: makeImage(150_000, 11), hw: 'gateway', rc: 1 },
  door2: { path: 'door/fw-2.img', bytes: makeImage(120_000, 22), hw: 'door', rc: 2 },
  brake2: { path: 'brake/fw-2.img', bytes: makeImage(100_000, 23), hw: 'brake', rc: 2 },
} as const;

export interface Vehicle {
  dir: string;
  imageRepo: Repository;
  imageServer: StaticServer;
  director: Director;
  directorSigners: DirectorSigners;
  directorServer: DirectorServer;
  fetcher: HttpFetcher;
  primary: Primary;
  full: Secondary;
  partial: Secondary;
  partialServer: SecondaryServer;
  ecus: Record<string, EcuRig>;
  /** Replace the primary's director reader (a compromised director or a network attacker). */
  directorReader: MetadataReader;
  setDirectorReader(reader: MetadataReader): void;
  imageReader: MetadataReader;
  setImageReader(reader: MetadataReader): void;
  /** The image repository's entry for a path. */
  imageEntry(targetPath: string): TargetFile;
  /** Every image path the primary downloaded, in order. */
  fetched: string[];
  close(): Promise<void>;
}

/** Build the whole vehicle and its two repositories; nothing assigned yet. */
export async function makeVehicle(options: { consent?: ConsentCallback } = {}): Promise<Vehicle> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-uptane-'));
  // Image repository: offline-style keys, one delegation for brake images.
  const repoKey = await InMemorySigner.generate('ed25519');
  const brakeKey = await InMemorySigner.generate('ed25519');
  const one = { keys: [repoKey] };
  const storage = await FsRepositoryStorage.open(path.join(dir, 'image-repo'));
  const imageRepo = await Repository.create(storage, {
    roles: { root: one, targets: one, snapshot: one, timestamp: one },
    signers: [repoKey, brakeKey],
  });
  imageRepo.delegate('brakes', { paths: ['brake/*'], keys: [brakeKey], terminating: true });
  for (const image of Object.values(IMAGES)) {
    await imageRepo.addTarget(image.path, image.bytes, {
      hardwareIds: [image.hw],
      releaseCounter: image.rc,
      version: `${image.rc}.0.0`,
    });
  }
  await imageRepo.publish();
  const imageServer = await createStaticServer({ root: path.join(dir, 'image-repo') });

  // Director: online keys.
  const directorSigners: DirectorSigners = {
    root: await InMemorySigner.generate('ed25519'),
    targets: await InMemorySigner.generate('ed25519'),
    snapshot: await InMemorySigner.generate('ed25519'),
    timestamp: await InMemorySigner.generate('ed25519'),
  };
  const director = await Director.create({
    inventory: new FileInventoryStore(path.join(dir, 'director')),
    signers: directorSigners,
  });
  const directorServer = await createDirectorServer(director);

  const ecus: Record<string, EcuRig> = {
    [PRIMARY]: await ecuRig(PRIMARY, 'gateway'),
    [FULL]: await ecuRig(FULL, 'door'),
    [PARTIAL]: await ecuRig(PARTIAL, 'brake'),
  };
  const rig = (serial: string) => ecus[serial] as EcuRig;
  await director.registerDevice({
    deviceId: DEVICE,
    primary: {
      ecuSerial: PRIMARY,
      hardwareId: 'gateway',
      publicKey: rig(PRIMARY).signer.publicKey,
    },
    secondaries: [
      { ecuSerial: FULL, hardwareId: 'door', publicKey: rig(FULL).signer.publicKey },
      { ecuSerial: PARTIAL, hardwareId: 'brake', publicKey: rig(PARTIAL).signer.publicKey },
    ],
  });

  // Provisioning: each ECU gets its key, hardware id and the roots it trusts.
  const directorRoot = director.root() as Uint8Array;
  const imageRoot = (await storage.readFile('metadata/1.root.json')) as Uint8Array;
  const common = (r: EcuRig) => ({
    deviceId: DEVICE,
    ecuSerial: r.serial,
    hardwareId: r.hardwareId,
    signer: r.signer,
    store: r.store,
    clock: r.clock,
    agent: r.agentOptions(),
  });
  const full = await Secondary.create({ ...common(rig(FULL)), verification: 'full' });
  await full.ecu.provision({ director: directorRoot, image: imageRoot });
  const partial = await Secondary.create({ ...common(rig(PARTIAL)), verification: 'partial' });
  await partial.ecu.provision({ director: directorRoot });
  const partialServer = await createSecondaryServer(partial);

  const fetcher = new HttpFetcher();
  const vehicle = {
    directorReader: httpMetadataReader(fetcher, directorServer.deviceUrl(DEVICE)),
    imageReader: httpMetadataReader(fetcher, `${imageServer.url}/metadata/`),
    fetched: [] as string[],
  } as Vehicle;
  const download = httpImageFetcher(fetcher, `${imageServer.url}/targets/`);
  const primary = await Primary.create({
    ...common(rig(PRIMARY)),
    // Indirections so that tests can swap in an attacker's reader.
    directorReader: (name, max) => vehicle.directorReader(name, max),
    imageReader: (name, max) => vehicle.imageReader(name, max),
    fetchImage: (target) => {
      vehicle.fetched.push(target.path);
      return download(target);
    },
    secondaries: [
      new InProcessSecondaryTransport(full),
      new HttpSecondaryTransport(partialServer.url),
    ],
    sendManifest: httpManifestSender(`${directorServer.deviceUrl(DEVICE)}manifest`),
    ...(options.consent !== undefined ? { consent: options.consent } : {}),
  });
  await primary.ecu.provision({ director: directorRoot, image: imageRoot });

  return Object.assign(vehicle, {
    dir,
    imageRepo,
    imageServer,
    director,
    directorSigners,
    directorServer,
    fetcher,
    primary,
    full,
    partial,
    partialServer,
    ecus,
    setDirectorReader(reader: MetadataReader) {
      vehicle.directorReader = reader;
    },
    setImageReader(reader: MetadataReader) {
      vehicle.imageReader = reader;
    },
    imageEntry(targetPath: string): TargetFile {
      const found = imageRepo.getTarget(targetPath);
      if (found === undefined) throw new Error(`no ${targetPath} in the image repository`);
      return found.target;
    },
    async close() {
      await fetcher.close();
      await partialServer.close();
      await directorServer.close();
      await imageServer.close();
      for (const r of Object.values(ecus)) await r.dev.cleanup();
      await fs.rm(dir, { recursive: true, force: true });
    },
  });
}

/** Assign the standard release (fw-2 everywhere). */
export async function assignRelease(v: Vehicle, correlationId = 'campaign-1'): Promise<void> {
  await v.director.assign(DEVICE, correlationId, [
    { ecuSerial: PRIMARY, target: v.imageEntry(IMAGES.gateway2.path) },
    { ecuSerial: FULL, target: v.imageEntry(IMAGES.door2.path) },
    { ecuSerial: PARTIAL, target: v.imageEntry(IMAGES.brake2.path) },
  ]);
}

/** Each ECU after its reboot: the agent concludes (commits after health checks). */
export async function resumeAll(v: Vehicle): Promise<string[]> {
  return [
    (await v.primary.resume()).outcome,
    (await v.full.ecu.resume()).outcome,
    (await v.partial.ecu.resume()).outcome,
  ];
}

/** The attacks an ECU reports in a vehicle manifest. */
export function attacksIn(manifest: Uint8Array, serial: string): string[] {
  const signed = parseEnvelope(manifest).signed as {
    ecu_version_manifests: Record<string, { signed: { attacks_detected: string } }>;
  };
  const text = signed.ecu_version_manifests[serial]?.signed.attacks_detected ?? '';
  return text === '' ? [] : text.split(',');
}

/**
 * A compromised director: new targets (any content) with a matching snapshot and timestamp,
 * signed with the director's own online keys, served in place of the real ones.
 */
export async function forgeDirector(
  v: Vehicle,
  targets: Targets,
  versions = { targets: 50, snapshot: 50, timestamp: 50 },
): Promise<Map<string, Uint8Array>> {
  const day = 24 * 60 * 60 * 1000;
  targets.version = versions.targets;
  targets.expires = new Date(Date.now() + day);
  const t = new Metadata(targets);
  await t.sign(v.directorSigners.targets);
  const targetsBytes = t.toBytes();
  const snapshot = new Metadata(
    new Snapshot({
      version: versions.snapshot,
      expires: new Date(Date.now() + day),
      meta: {
        'targets.json': new MetaFile(
          versions.targets,
          targetsBytes.byteLength,
          hashBytes(targetsBytes, ['sha256']),
        ),
      },
    }),
  );
  await snapshot.sign(v.directorSigners.snapshot);
  const snapshotBytes = snapshot.toBytes();
  const timestamp = new Metadata(
    new Timestamp({
      version: versions.timestamp,
      expires: new Date(Date.now() + day),
      snapshotMeta: new MetaFile(
        versions.snapshot,
        snapshotBytes.byteLength,
        hashBytes(snapshotBytes, ['sha256']),
      ),
    }),
  );
  await timestamp.sign(v.directorSigners.timestamp);
  const files = new Map<string, Uint8Array>([
    ['targets.json', targetsBytes],
    ['snapshot.json', snapshotBytes],
    ['timestamp.json', timestamp.toBytes()],
  ]);
  const real = v.directorReader;
  v.setDirectorReader(async (name, max) => files.get(name) ?? real(name, max));
  return files;
}
