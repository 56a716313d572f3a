/**
 * The director's inventory (Uptane Standard 2.1.0 §5.2.3 and §5.3.3: "a private inventory
 * database"): devices, their ECUs (serial, hardware id, primary or secondary, public key), what
 * each ECU last reported as installed, every image the director assigned to it, and the
 * per-device director metadata last generated. A storage interface with an in-memory
 * implementation here and a file implementation in `file-inventory-store.ts`.
 *
 * Records are plain JSON values (bytes as base64) so that every store can persist them as is.
 *
 * `MemoryInventoryStore` is safe for concurrent use within one process (each call is atomic);
 * the director serializes its own read-modify-write sequences.
 *
 * @module
 */
import type { PublicKeyData } from '../../crypto/index.js';
import type { InstalledImage } from '../verify/manifest.js';

/** One ECU of a device. */
export interface EcuRecord {
  ecuSerial: string;
  hardwareId: string;
  primary: boolean;
  /** The ECU key that signs its version reports (and, for the primary, the vehicle manifest). */
  publicKey: PublicKeyData;
  keyid: string;
  /** What the ECU last reported (or was provisioned with). */
  installedImage?: InstalledImage;
  /** The `report_counter` of the last accepted report. */
  lastReportCounter?: number;
  /** `attacks_detected` of the last accepted report. */
  attacksDetected?: string[];
  /** Every image (path + sha256) the director ever assigned to this ECU. */
  assigned?: InstalledImage[];
}

/** An image assigned to one ECU in the current assignment. */
export interface ImageAssignment {
  ecuSerial: string;
  filepath: string;
  length: number;
  hashes: Record<string, string>;
  releaseCounter?: number;
  uri?: string;
}

/** The director's per-device metadata, last generated. */
export interface DeviceMetadataRecord {
  /** The director root version whose keys signed these files. */
  rootVersion?: number;
  targetsVersion: number;
  snapshotVersion: number;
  timestampVersion: number;
  /** base64 of the exact served bytes. */
  targets: string;
  snapshot: string;
  timestamp: string;
  /** ISO time of the earliest expiry among the three. */
  expires: string;
}

/** One device (vehicle). */
export interface DeviceRecord {
  deviceId: string;
  primaryEcuSerial: string;
  ecus: EcuRecord[];
  /**
   * The current assignment (what the director's targets name), if any. `updateControl`
   * `consent`: the device asks its integrator before installing (absent: forced).
   */
  assignment?: { correlationId: string; images: ImageAssignment[]; updateControl?: 'consent' };
  metadata?: DeviceMetadataRecord;
  /** Attacks the director detected in this device's manifests (e.g. `unassigned-image`). */
  flags?: string[];
}

/** Where the director keeps its inventory and its roots. */
export interface InventoryStore {
  /** Director root metadata, oldest first (`N.root.json` is index N−1). */
  loadRoots(): Promise<Uint8Array[]>;
  /** Append the next root version. */
  saveRoot(version: number, bytes: Uint8Array): Promise<void>;
  loadDevice(deviceId: string): Promise<DeviceRecord | undefined>;
  /** Replace the device record atomically. */
  saveDevice(record: DeviceRecord): Promise<void>;
  listDevices(): Promise<string[]>;
}

/** An inventory held in memory (tests, development). */
export class MemoryInventoryStore implements InventoryStore {
  readonly #roots: Uint8Array[] = [];
  readonly #devices = new Map<string, string>();

  async loadRoots(): Promise<Uint8Array[]> {
    return [...this.#roots];
  }

  async saveRoot(version: number, bytes: Uint8Array): Promise<void> {
    this.#roots[version - 1] = bytes;
  }

  async loadDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    const json = this.#devices.get(deviceId);
    return json === undefined ? undefined : (JSON.parse(json) as DeviceRecord);
  }

  async saveDevice(record: DeviceRecord): Promise<void> {
    // Stored as JSON text so that callers never share (and mutate) a stored record.
    this.#devices.set(record.deviceId, JSON.stringify(record));
  }

  async listDevices(): Promise<string[]> {
    return [...this.#devices.keys()];
  }
}
