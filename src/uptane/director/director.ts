/**
 * `Director`: the Uptane director repository (Standard 2.1.0 §5.2.3, §5.3.3). It decides which
 * image each ECU of a device installs and says so in per-device metadata generated on demand,
 * signed with online keys:
 *
 * - one root for the whole director (`N.root.json`, `consistent_snapshot: false`: per-device
 *   files are regenerated in place, never addressed by version);
 * - per device, a `targets.json` naming the image for each ECU serial
 *   (`custom.ecuIdentifiers.<serial>.hardwareId`, `custom.releaseCounter`, `custom.uri?`) with a
 *   top-level `custom: {correlationId, deviceId}` — `deviceId` always, so that no targets file,
 *   empty or not, can be replayed to another device — plus `updateControl: "consent"` when the
 *   assignment asks the device's integrator first (absent: forced, so forced assignments keep
 *   the bytes they always had) — and its own `snapshot.json` and `timestamp.json`; no
 *   delegations.
 *
 * It also receives vehicle version manifests (`manifest-processing.ts`) and keeps the inventory
 * (`inventory.ts`).
 *
 * Assignments are copied from the image repository's entries: the director never invents
 * lengths or hashes, but nothing stops a compromised director from doing so — that is what the
 * ECUs' full verification is for.
 *
 * Calls are serialized internally (one queue), so one instance is safe for concurrent use; do not
 * run two directors on one inventory.
 *
 * @module
 */
import { hashBytes, type PublicKeyData, type Signer } from '../../crypto/index.js';
import { InvalidStateError, UptaneAttack, UptaneError } from '../../errors.js';
import {
  Key,
  Metadata,
  MetaFile,
  Role,
  Root,
  Snapshot,
  type TargetFile,
  TargetFile as TargetFileModel,
  Targets,
  Timestamp,
} from '../../models/index.js';
import type {
  DeviceMetadataRecord,
  DeviceRecord,
  EcuRecord,
  ImageAssignment,
  InventoryStore,
} from './inventory.js';
import { type ManifestResult, processManifest } from './manifest-processing.js';

/** The director's online signers, one per top-level role (may be the same key). */
export interface DirectorSigners {
  root: Signer;
  targets: Signer;
  snapshot: Signer;
  timestamp: Signer;
}

/** Validity periods of generated metadata, in milliseconds. */
export interface DirectorExpiry {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
}

const DAY = 24 * 60 * 60 * 1000;

/** Defaults: a year for root, a week for targets and snapshot, a day for the timestamp. */
export const DEFAULT_DIRECTOR_EXPIRY: Readonly<DirectorExpiry> = Object.freeze({
  root: 365 * DAY,
  targets: 7 * DAY,
  snapshot: 7 * DAY,
  timestamp: DAY,
});

/** Options of {@link Director.create}. */
export interface DirectorOptions {
  inventory: InventoryStore;
  signers: DirectorSigners;
  expiry?: Partial<DirectorExpiry>;
  /** The clock (default the system clock); tests inject one. */
  now?: () => Date;
}

/** One ECU as registered at provisioning. */
export interface EcuRegistration {
  ecuSerial: string;
  hardwareId: string;
  /** The ECU's public key (ed25519 recommended). */
  publicKey: PublicKeyData;
  /** The image the ECU left the factory with, if any (so its first report is not "unassigned"). */
  installedImage?: { filepath: string; length: number; hashes: Record<string, string> };
}

/** What {@link Director.registerDevice} takes. */
export interface DeviceRegistration {
  deviceId: string;
  primary: EcuRegistration;
  secondaries?: EcuRegistration[];
}

/** One image for one ECU, as {@link Director.assign} takes it. */
export interface AssignImage {
  ecuSerial: string;
  /** The image repository's entry (path, length, hashes, custom.releaseCounter). */
  target: TargetFile;
  /** Where the ECU downloads it, if not from the image repository. */
  uri?: string;
}

/** Options of {@link Director.assign}. */
export interface AssignOptions {
  /**
   * `forced` (default): the device installs at once. `consent`: the device asks its integrator
   * first (the primary's `consent` callback) and defers the update while the answer is no.
   */
  updateControl?: 'forced' | 'consent';
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function unb64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/**
 * The director repository.
 *
 * @example
 * ```ts
 * const director = await Director.create({ inventory: new MemoryInventoryStore(), signers });
 * await director.registerDevice({ deviceId: 'vin-1', primary: { ecuSerial: 'p1', hardwareId: 'gw', publicKey } });
 * await director.assign('vin-1', 'campaign-1', [{ ecuSerial: 'p1', target: imageRepoEntry }]);
 * const targets = await director.metadata('vin-1', 'targets.json');
 * ```
 */
export class Director {
  readonly #inventory: InventoryStore;
  #signers: DirectorSigners;
  readonly #expiry: DirectorExpiry;
  readonly #now: () => Date;
  #roots: Uint8Array[];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: DirectorOptions, roots: Uint8Array[]) {
    this.#inventory = options.inventory;
    this.#signers = options.signers;
    this.#expiry = { ...DEFAULT_DIRECTOR_EXPIRY, ...options.expiry };
    this.#now = options.now ?? (() => new Date());
    this.#roots = roots;
  }

  /**
   * Open the director on `inventory`, creating root version 1 from the signers' keys when the
   * inventory has no root yet.
   */
  static async create(options: DirectorOptions): Promise<Director> {
    let roots = await options.inventory.loadRoots();
    const director = new Director(options, roots);
    if (roots.length === 0) {
      const bytes = await director.#signRoot(1);
      await options.inventory.saveRoot(1, bytes);
      roots = [bytes];
      director.#roots = roots;
    }
    return director;
  }

  async #signRoot(version: number, previousRootSigner?: Signer): Promise<Uint8Array> {
    const root = new Root({
      version,
      expires: new Date(this.#now().getTime() + this.#expiry.root),
      consistentSnapshot: false,
      roles: {
        root: new Role([], 1),
        targets: new Role([], 1),
        snapshot: new Role([], 1),
        timestamp: new Role([], 1),
      },
    });
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      root.addKey(Key.fromPublicKeyData(this.#signers[role].publicKey), role);
    }
    const metadata = new Metadata(root);
    await metadata.sign(this.#signers.root);
    if (previousRootSigner !== undefined && previousRootSigner.keyid !== this.#signers.root.keyid) {
      await metadata.sign(previousRootSigner, { append: true });
    }
    return metadata.toBytes();
  }

  /**
   * Rotate director keys: publish root version N+1 listing `signers` (the roles not given keep
   * their keys), signed by the current root key and by the new one (§5.4.4.3 step 2.3). Every
   * device's targets, snapshot and timestamp are re-signed with the new keys on their next
   * request. ECUs follow the rotation on their next cycle (partial-verification secondaries too,
   * from the roots the primary forwards).
   */
  rotateKeys(signers: Partial<DirectorSigners>): Promise<number> {
    return this.#serialize(async () => {
      const previous = this.#signers;
      this.#signers = { ...previous, ...signers };
      const version = this.#roots.length + 1;
      let bytes: Uint8Array;
      try {
        bytes = await this.#signRoot(version, previous.root);
      } catch (error) {
        this.#signers = previous;
        throw error;
      }
      await this.#inventory.saveRoot(version, bytes);
      this.#roots = [...this.#roots, bytes];
      return version;
    });
  }

  /** Run `task` after every earlier call (read-modify-write of device records). */
  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The trusted root to provision ECUs with (`version` default: the newest). */
  root(version = this.#roots.length): Uint8Array | undefined {
    return this.#roots[version - 1];
  }

  /** The inventory record of a device. */
  device(deviceId: string): Promise<DeviceRecord | undefined> {
    return this.#inventory.loadDevice(deviceId);
  }

  /**
   * Register a device with its ECUs (provisioning).
   *
   * @throws InvalidStateError when the device exists or an ECU serial repeats.
   */
  registerDevice(registration: DeviceRegistration): Promise<DeviceRecord> {
    return this.#serialize(async () => {
      if ((await this.#inventory.loadDevice(registration.deviceId)) !== undefined) {
        throw new InvalidStateError(`device ${registration.deviceId} is already registered`);
      }
      const all = [
        { ...registration.primary, primary: true },
        ...(registration.secondaries ?? []).map((s) => ({ ...s, primary: false })),
      ];
      const serials = new Set(all.map((e) => e.ecuSerial));
      if (serials.size !== all.length) {
        throw new InvalidStateError(`device ${registration.deviceId} lists an ECU serial twice`);
      }
      const ecus: EcuRecord[] = all.map((e) => {
        const key = Key.fromPublicKeyData(e.publicKey);
        return {
          ecuSerial: e.ecuSerial,
          hardwareId: e.hardwareId,
          primary: e.primary,
          publicKey: key.toJSON() as unknown as PublicKeyData,
          keyid: key.keyId(),
          ...(e.installedImage !== undefined
            ? { installedImage: e.installedImage, assigned: [e.installedImage] }
            : {}),
        };
      });
      const record: DeviceRecord = {
        deviceId: registration.deviceId,
        primaryEcuSerial: registration.primary.ecuSerial,
        ecus,
      };
      await this.#inventory.saveDevice(record);
      return record;
    });
  }

  /**
   * Order ECUs of a device to install images: replaces the device's assignment and regenerates
   * its targets, snapshot and timestamp.
   *
   * @throws UptaneError `unknown-ecu` for a serial the device does not have.
   * @throws InvalidStateError for an unknown device or an ECU assigned twice.
   */
  assign(
    deviceId: string,
    correlationId: string,
    images: AssignImage[],
    options: AssignOptions = {},
  ): Promise<void> {
    return this.#serialize(async () => {
      const record = await this.#requireDevice(deviceId);
      const seen = new Set<string>();
      const assigned: ImageAssignment[] = [];
      for (const image of images) {
        const ecu = record.ecus.find((e) => e.ecuSerial === image.ecuSerial);
        if (ecu === undefined) {
          throw new UptaneError(
            UptaneAttack.unknownEcu,
            `device ${deviceId} has no ECU ${image.ecuSerial}`,
            { ecuSerial: image.ecuSerial },
          );
        }
        if (seen.has(image.ecuSerial)) {
          throw new InvalidStateError(`ECU ${image.ecuSerial} is assigned twice`);
        }
        seen.add(image.ecuSerial);
        const entry: ImageAssignment = {
          ecuSerial: image.ecuSerial,
          filepath: image.target.path,
          length: image.target.length,
          hashes: { ...image.target.hashes },
          ...(image.target.releaseCounter !== undefined
            ? { releaseCounter: image.target.releaseCounter }
            : {}),
          ...(image.uri !== undefined ? { uri: image.uri } : {}),
        };
        assigned.push(entry);
        ecu.assigned = [
          ...(ecu.assigned ?? []),
          { filepath: entry.filepath, length: entry.length, hashes: entry.hashes },
        ];
      }
      record.assignment = {
        correlationId,
        images: assigned,
        ...(options.updateControl === 'consent' ? { updateControl: 'consent' as const } : {}),
      };
      record.metadata = await this.#generate(record);
      await this.#inventory.saveDevice(record);
    });
  }

  /**
   * Withdraw the device's assignment (a deployment aborted): its targets then name no image,
   * and new versions of targets, snapshot and timestamp are signed (versions only grow, so the
   * device takes them as the newer state). With `correlationId`, only an assignment carrying that
   * id is withdrawn — a later deployment's assignment is never wiped by an earlier one's abort.
   * Idempotent: with no matching assignment nothing changes (no new versions).
   *
   * Images the ECUs were once assigned stay in their `assigned` history, so a device that
   * finishes an install it had started still reports an image the director knows.
   *
   * @returns whether an assignment was withdrawn.
   * @throws UptaneError `unknown-ecu` for an unknown device.
   */
  clearAssignment(deviceId: string, correlationId?: string): Promise<boolean> {
    return this.#serialize(async () => {
      const record = await this.#requireDevice(deviceId);
      const current = record.assignment;
      if (current === undefined) return false;
      if (correlationId !== undefined && current.correlationId !== correlationId) return false;
      delete record.assignment;
      record.metadata = await this.#generate(record);
      await this.#inventory.saveDevice(record);
      return true;
    });
  }

  /**
   * A director metadata file for `deviceId`: `N.root.json`, `timestamp.json`, `snapshot.json`
   * or `targets.json`; `undefined` when there is no such file. Metadata close to expiry (less
   * than half its period left) is re-signed first.
   */
  metadata(deviceId: string, fileName: string): Promise<Uint8Array | undefined> {
    const rootMatch = /^([1-9][0-9]{0,8})\.root\.json$/.exec(fileName);
    if (rootMatch !== null) return Promise.resolve(this.root(Number(rootMatch[1])));
    if (!['timestamp.json', 'snapshot.json', 'targets.json'].includes(fileName)) {
      return Promise.resolve(undefined);
    }
    const name = fileName.slice(0, -'.json'.length) as 'timestamp' | 'snapshot' | 'targets';
    const fresh = (meta: DeviceMetadataRecord | undefined): meta is DeviceMetadataRecord =>
      meta !== undefined &&
      Date.parse(meta.expires) > this.#now().getTime() + this.#expiry.timestamp / 2 &&
      meta.rootVersion === this.#roots.length;
    // Reads of fresh metadata need not wait in the queue: every record is saved whole, so a
    // read sees the files of one generation. Only a refresh (a write) is serialized — polling
    // devices would otherwise all wait behind one another.
    return this.#inventory.loadDevice(deviceId).then((current) => {
      if (current === undefined) return undefined;
      if (fresh(current.metadata)) return unb64(current.metadata[name]);
      return this.#serialize(() => this.#refreshedMetadata(deviceId, name));
    });
  }

  async #refreshedMetadata(
    deviceId: string,
    name: 'timestamp' | 'snapshot' | 'targets',
  ): Promise<Uint8Array | undefined> {
    const record = await this.#inventory.loadDevice(deviceId);
    if (record === undefined) return undefined;
    let meta = record.metadata;
    const refreshBy = this.#now().getTime() + this.#expiry.timestamp / 2;
    if (
      meta === undefined ||
      Date.parse(meta.expires) <= refreshBy ||
      meta.rootVersion !== this.#roots.length
    ) {
      meta = await this.#generate(record);
      record.metadata = meta;
      await this.#inventory.saveDevice(record);
    }
    return unb64(meta[name]);
  }

  /**
   * Verify and record a vehicle version manifest (see `manifest-processing.ts`).
   *
   * @throws UptaneError `unknown-ecu`, `forged-manifest`, `manifest-replay`, `unassigned-image`.
   */
  receiveManifest(deviceId: string, bytes: Uint8Array): Promise<ManifestResult> {
    return this.#serialize(async () => {
      const record = await this.#requireDevice(deviceId);
      const outcome = processManifest(record, bytes, this.#now());
      // A detected attack is recorded even though the manifest is refused.
      await this.#inventory.saveDevice(outcome.record);
      if (outcome.error !== undefined) throw outcome.error;
      return outcome.result;
    });
  }

  async #requireDevice(deviceId: string): Promise<DeviceRecord> {
    const record = await this.#inventory.loadDevice(deviceId);
    if (record === undefined) {
      throw new UptaneError(UptaneAttack.unknownEcu, `device ${deviceId} is not registered`);
    }
    return record;
  }

  /** Sign new versions of targets, snapshot and timestamp for one device (versions only grow). */
  async #generate(record: DeviceRecord): Promise<DeviceMetadataRecord> {
    const now = this.#now().getTime();
    const old = record.metadata;
    const targetsVersion = (old?.targetsVersion ?? 0) + 1;
    const expires = (ms: number) => new Date(now + ms);
    const targets = new Targets({
      version: targetsVersion,
      expires: expires(this.#expiry.targets),
      unrecognized: {
        custom: {
          deviceId: record.deviceId,
          correlationId: record.assignment?.correlationId ?? '',
          ...(record.assignment?.updateControl === 'consent' ? { updateControl: 'consent' } : {}),
        },
      },
    });
    for (const image of record.assignment?.images ?? []) {
      const ecu = record.ecus.find((e) => e.ecuSerial === image.ecuSerial) as EcuRecord;
      // One entry per path; two ECUs given the same image share it (ecuIdentifiers lists both).
      const existing = targets.getTarget(image.filepath);
      if (existing !== undefined) {
        const ids = existing.custom?.ecuIdentifiers as Record<string, unknown>;
        ids[image.ecuSerial] = { hardwareId: ecu.hardwareId };
        continue;
      }
      targets.addTarget(
        new TargetFileModel(
          image.filepath,
          image.length,
          { ...image.hashes },
          {
            ecuIdentifiers: { [image.ecuSerial]: { hardwareId: ecu.hardwareId } },
            ...(image.releaseCounter !== undefined ? { releaseCounter: image.releaseCounter } : {}),
            ...(image.uri !== undefined ? { uri: image.uri } : {}),
          },
        ),
      );
    }
    const targetsMeta = new Metadata(targets);
    await targetsMeta.sign(this.#signers.targets);
    const targetsBytes = targetsMeta.toBytes();
    const snapshotVersion = (old?.snapshotVersion ?? 0) + 1;
    const snapshot = new Snapshot({
      version: snapshotVersion,
      expires: expires(this.#expiry.snapshot),
      meta: {
        'targets.json': new MetaFile(
          targetsVersion,
          targetsBytes.byteLength,
          hashBytes(targetsBytes, ['sha256']),
        ),
      },
    });
    const snapshotMeta = new Metadata(snapshot);
    await snapshotMeta.sign(this.#signers.snapshot);
    const snapshotBytes = snapshotMeta.toBytes();
    const timestampVersion = (old?.timestampVersion ?? 0) + 1;
    const timestamp = new Timestamp({
      version: timestampVersion,
      expires: expires(this.#expiry.timestamp),
      snapshotMeta: new MetaFile(
        snapshotVersion,
        snapshotBytes.byteLength,
        hashBytes(snapshotBytes, ['sha256']),
      ),
    });
    const timestampMeta = new Metadata(timestamp);
    await timestampMeta.sign(this.#signers.timestamp);
    const timestampBytes = timestampMeta.toBytes();
    const earliest = Math.min(
      now + this.#expiry.targets,
      now + this.#expiry.snapshot,
      now + this.#expiry.timestamp,
    );
    return {
      rootVersion: this.#roots.length,
      targetsVersion,
      snapshotVersion,
      timestampVersion,
      targets: b64(targetsBytes),
      snapshot: b64(snapshotBytes),
      timestamp: b64(timestampBytes),
      expires: new Date(earliest).toISOString(),
    };
  }
}
