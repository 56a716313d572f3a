/**
 * The director's side of vehicle version manifests (Uptane Standard 2.1.0 §5.3.3 and the
 * manifest formats of §5.4.2.1.1–§5.4.2.1.2): verify every signature against the registered
 * keys, refuse unknown ECUs, refuse a `report_counter` that does not increase (a replayed or
 * reordered report), flag and refuse a report of an installed image the director never assigned
 * to that ECU, and only then update the inventory — all reports or none.
 *
 * Pure: takes the device record and bytes, returns the updated record (and the error to throw).
 *
 * @module
 */
import { hashesEqual } from '../../crypto/index.js';
import { TufError, UptaneAttack, UptaneError } from '../../errors.js';
import { Key } from '../../models/index.js';
import {
  ecuVersionReportFromJSON,
  type InstalledImage,
  parseEnvelope,
  vehicleManifestFromJSON,
  verifyEnvelope,
} from '../verify/manifest.js';
import type { DeviceRecord, EcuRecord } from './inventory.js';

/** What an accepted manifest changed. */
export interface ManifestResult {
  deviceId: string;
  /** ECU serial → the image it now reports. */
  installed: Record<string, InstalledImage | undefined>;
  /** ECU serial → attacks it reported. */
  attacksDetected: Record<string, string[]>;
  installationReport: Record<string, unknown> | undefined;
}

function sameImage(a: InstalledImage, b: InstalledImage): boolean {
  if (a.filepath !== b.filepath || a.length !== b.length) return false;
  const common = Object.keys(a.hashes).filter((k) => Object.hasOwn(b.hashes, k));
  return (
    common.length > 0 &&
    common.every((k) => hashesEqual(a.hashes[k] as string, b.hashes[k] as string))
  );
}

function keyOf(ecu: EcuRecord): Key {
  return Key.fromJSON(ecu.publicKey, `ecu ${ecu.ecuSerial} key`);
}

/**
 * Check a manifest against `record`.
 *
 * @returns the record to save (updated when accepted, flagged when an unassigned image was
 *   reported, unchanged otherwise), and either the result or the error to throw.
 */
export function processManifest(
  record: DeviceRecord,
  bytes: Uint8Array,
  now: Date,
):
  | { record: DeviceRecord; result: ManifestResult; error?: undefined }
  | { record: DeviceRecord; error: TufError; result?: undefined } {
  const updated: DeviceRecord = JSON.parse(JSON.stringify(record)) as DeviceRecord;
  try {
    const envelope = parseEnvelope(bytes, 'vehicle_version_manifest');
    const manifest = vehicleManifestFromJSON(envelope.signed);
    if (manifest.deviceId !== record.deviceId) {
      throw new UptaneError(
        UptaneAttack.wrongDevice,
        `manifest for device ${manifest.deviceId} sent as device ${record.deviceId}`,
      );
    }
    const primary = updated.ecus.find((e) => e.ecuSerial === record.primaryEcuSerial) as EcuRecord;
    if (manifest.primaryEcuSerial !== primary.ecuSerial) {
      throw new UptaneError(
        UptaneAttack.unknownEcu,
        `manifest names primary ${manifest.primaryEcuSerial}; device ${record.deviceId}'s primary is ${primary.ecuSerial}`,
        { ecuSerial: manifest.primaryEcuSerial },
      );
    }
    verifyEnvelope(envelope, keyOf(primary), `the manifest of device ${record.deviceId}`);
    const result: ManifestResult = {
      deviceId: record.deviceId,
      installed: {},
      attacksDetected: {},
      installationReport: manifest.installationReport,
    };
    const changes: Array<() => void> = [];
    for (const [serial, reportJson] of Object.entries(manifest.ecuVersionManifests)) {
      const ecu = updated.ecus.find((e) => e.ecuSerial === serial);
      if (ecu === undefined) {
        throw new UptaneError(
          UptaneAttack.unknownEcu,
          `the manifest carries a report of ECU ${serial}, which device ${record.deviceId} does not have`,
          { ecuSerial: serial },
        );
      }
      const reportEnvelope = parseEnvelope(reportJson, `ecu_version_manifests.${serial}`);
      verifyEnvelope(reportEnvelope, keyOf(ecu), `the version report of ECU ${serial}`);
      const report = ecuVersionReportFromJSON(reportEnvelope.signed);
      if (report.ecuSerial !== serial) {
        throw new UptaneError(
          UptaneAttack.forgedManifest,
          `the report filed under ECU ${serial} is ECU ${report.ecuSerial}'s`,
          { ecuSerial: serial },
        );
      }
      if (ecu.lastReportCounter !== undefined && report.reportCounter <= ecu.lastReportCounter) {
        throw new UptaneError(
          UptaneAttack.manifestReplay,
          `ECU ${serial} report_counter ${report.reportCounter} is not above the last accepted ${ecu.lastReportCounter} (replayed or reordered report)`,
          { ecuSerial: serial },
        );
      }
      const image = report.installedImage;
      if (image !== undefined && !(ecu.assigned ?? []).some((a) => sameImage(a, image))) {
        updated.flags = [
          ...(updated.flags ?? []),
          `${now.toISOString()} ${UptaneAttack.unassignedImage}: ECU ${serial} reports ${image.filepath}`,
        ];
        throw new UptaneError(
          UptaneAttack.unassignedImage,
          `ECU ${serial} reports installed image ${image.filepath}, which the director never assigned to it`,
          { ecuSerial: serial },
        );
      }
      result.installed[serial] = image;
      result.attacksDetected[serial] = report.attacksDetected;
      changes.push(() => {
        ecu.lastReportCounter = report.reportCounter;
        ecu.attacksDetected = report.attacksDetected;
        if (image !== undefined) ecu.installedImage = image;
        else delete ecu.installedImage;
      });
    }
    for (const change of changes) change();
    return { record: updated, result };
  } catch (error) {
    if (!(error instanceof TufError)) throw error;
    // Only the attack flag survives a refused manifest; nothing else changes.
    const flagged: DeviceRecord = { ...record };
    if (updated.flags !== undefined) flagged.flags = updated.flags;
    return { record: flagged, error };
  }
}
