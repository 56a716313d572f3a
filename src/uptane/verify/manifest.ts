/**
 * ECU version reports and vehicle version manifests (Uptane Standard 2.1.0 §5.4.2.1.1 and
 * §5.4.2.1.2), signed like TUF metadata: `{"signatures": [{keyid, sig}], "signed": {…}}`, the
 * signature over the canonical JSON of `signed`.
 *
 * Wire format (field names as aktualizr and ota-tuf use them):
 *
 * ```json
 * { "signatures": [{ "keyid": "…", "sig": "…" }],
 *   "signed": { "ecu_serial": "ecu-brake-1",
 *     "installed_image": { "filepath": "brake/2.0.0.img",
 *                          "fileinfo": { "length": 1024, "hashes": { "sha256": "…" } } },
 *     "attacks_detected": "", "report_counter": 7, "time": "2026-12-04T16:00:00Z" } }
 * ```
 *
 * `attacks_detected` is a string, as in aktualizr: the attack names of {@link UptaneAttack},
 * comma-separated, empty when none. A vehicle version manifest's `signed` is
 * `{device_id, primary_ecu_serial, ecu_version_manifests: {serial: report envelope},
 * installation_report?}`, signed by the primary.
 *
 * Pure; safe for concurrent use (signing is asynchronous, through a {@link Signer}).
 *
 * @module
 */
import { encodeCanonical, parseJson } from '../../canonical/index.js';
import {
  bytesToHex,
  type CryptoProvider,
  defaultCryptoProvider,
  type Signer,
} from '../../crypto/index.js';
import { FormatError, UptaneAttack, UptaneError } from '../../errors.js';
import { expectHashes, FieldReader, isObject, setOwn } from '../../models/guards.js';
import { type Key, Signature } from '../../models/index.js';
import { formatExpires, parseExpires } from '../../models/signed.js';

/** Longest manifest accepted by {@link parseEnvelope} (a vehicle with many ECUs). */
export const MAX_MANIFEST_LENGTH = 1024 * 1024;

/** A signed envelope, parsed: the `signed` value, its canonical bytes, the signatures. */
export interface SignedEnvelope {
  signed: Record<string, unknown>;
  signedBytes: Uint8Array;
  signatures: Signature[];
}

/** The image an ECU runs: the non-custom part of its targets entry. */
export interface InstalledImage {
  filepath: string;
  length: number;
  hashes: Record<string, string>;
}

/** An ECU version report's `signed` part. */
export interface EcuVersionReport {
  ecuSerial: string;
  /** `undefined` before the first install: reported as a zero-length image with no hashes. */
  installedImage: InstalledImage | undefined;
  /** Attack names detected since the last report. */
  attacksDetected: string[];
  /** Strictly increasing per ECU: the director refuses a report whose counter does not grow. */
  reportCounter: number;
  /** The ECU's trusted time when it made the report. */
  time: Date;
}

/** A vehicle version manifest's `signed` part. */
export interface VehicleVersionManifest {
  deviceId: string;
  primaryEcuSerial: string;
  /** serial → the ECU's signed version report envelope, as JSON. */
  ecuVersionManifests: Record<string, Record<string, unknown>>;
  /** Free-form result of the last installation (correlation id, per-ECU outcome). */
  installationReport?: Record<string, unknown>;
}

/** Sign `signed` with `signer`: the envelope as a JSON value. */
export async function signEnvelope(
  signed: Record<string, unknown>,
  signer: Signer,
): Promise<Record<string, unknown>> {
  const sig = await signer.sign(encodeCanonical(signed));
  return { signatures: [new Signature(signer.keyid, bytesToHex(sig)).toJSON()], signed };
}

/** Parse an envelope from bytes (capped) or from an already-parsed JSON value. */
export function parseEnvelope(input: Uint8Array | unknown, what = 'manifest'): SignedEnvelope {
  let value = input;
  if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_MANIFEST_LENGTH) {
      throw new FormatError(
        `${what} is ${input.byteLength} bytes, more than ${MAX_MANIFEST_LENGTH}`,
      );
    }
    value = parseJson(input, { maxDepth: 32 });
  }
  const reader = new FieldReader(value, what);
  const signed = reader.take('signed');
  if (!isObject(signed)) throw new FormatError(`${what}.signed must be an object`);
  const list = reader.take('signatures');
  if (!Array.isArray(list)) throw new FormatError(`${what}.signatures must be an array`);
  const signatures = list.map((s, i) => Signature.fromJSON(s, `${what}.signatures[${i}]`));
  return { signed, signedBytes: encodeCanonical(signed), signatures };
}

/**
 * Check that `key` signed the envelope.
 *
 * @throws UptaneError `forged-manifest` when no signature by `key` verifies.
 */
export function verifyEnvelope(
  envelope: SignedEnvelope,
  key: Key,
  what: string,
  provider: CryptoProvider = defaultCryptoProvider,
): void {
  const keyid = key.keyId();
  const ok = envelope.signatures.some(
    (s) => s.keyid === keyid && key.verifySignature(s, envelope.signedBytes, provider),
  );
  if (!ok) {
    throw new UptaneError(
      UptaneAttack.forgedManifest,
      `${what} is not signed by the registered key ${keyid}`,
    );
  }
}

/** The `signed` part of an ECU version report, as JSON. */
export function ecuVersionReportToJSON(report: EcuVersionReport): Record<string, unknown> {
  const image = report.installedImage ?? { filepath: '', length: 0, hashes: {} };
  return {
    ecu_serial: report.ecuSerial,
    installed_image: {
      filepath: image.filepath,
      fileinfo: { length: image.length, hashes: { ...image.hashes } },
    },
    attacks_detected: report.attacksDetected.join(','),
    report_counter: report.reportCounter,
    time: formatExpires(report.time),
  };
}

/** Parse the `signed` part of an ECU version report. */
export function ecuVersionReportFromJSON(value: unknown): EcuVersionReport {
  const reader = new FieldReader(value, 'ecu_version_report');
  const ecuSerial = reader.string('ecu_serial');
  const image = new FieldReader(reader.take('installed_image'), 'installed_image');
  const filepath = image.string('filepath');
  const info = new FieldReader(image.take('fileinfo'), 'installed_image.fileinfo');
  const length = info.integer('length', 0);
  const hashesValue = info.take('hashes');
  const empty = filepath === '' && isObject(hashesValue) && Object.keys(hashesValue).length === 0;
  const attacks = reader.string('attacks_detected');
  return {
    ecuSerial,
    installedImage: empty
      ? undefined
      : { filepath, length, hashes: expectHashes(hashesValue, 'installed_image.fileinfo.hashes') },
    attacksDetected: attacks === '' ? [] : attacks.split(','),
    reportCounter: reader.integer('report_counter', 0),
    time: parseExpires(reader.string('time'), 'ecu_version_report.time'),
  };
}

/** The `signed` part of a vehicle version manifest, as JSON. */
export function vehicleManifestToJSON(manifest: VehicleVersionManifest): Record<string, unknown> {
  const json: Record<string, unknown> = {
    device_id: manifest.deviceId,
    primary_ecu_serial: manifest.primaryEcuSerial,
    ecu_version_manifests: manifest.ecuVersionManifests,
  };
  if (manifest.installationReport !== undefined) {
    json.installation_report = manifest.installationReport;
  }
  return json;
}

/** Parse the `signed` part of a vehicle version manifest. */
export function vehicleManifestFromJSON(value: unknown): VehicleVersionManifest {
  const reader = new FieldReader(value, 'vehicle_version_manifest');
  const deviceId = reader.string('device_id');
  const primaryEcuSerial = reader.string('primary_ecu_serial');
  const reports = reader.object('ecu_version_manifests');
  const ecuVersionManifests: Record<string, Record<string, unknown>> = {};
  for (const [serial, report] of Object.entries(reports)) {
    if (!isObject(report)) {
      throw new FormatError(`ecu_version_manifests.${serial} must be a signed report object`);
    }
    setOwn(ecuVersionManifests, serial, report);
  }
  const installation = reader.takeOptional('installation_report');
  return {
    deviceId,
    primaryEcuSerial,
    ecuVersionManifests,
    ...(isObject(installation) ? { installationReport: installation } : {}),
  };
}
