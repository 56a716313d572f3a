/**
 * Device inventory export as CSV or JSON, streamed from the store's export iterator so that a
 * fleet of any size is never held in memory.
 *
 * CSV (RFC 4180): every cell quoted when it holds a comma, quote, CR or LF; and a cell a
 * spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR — device
 * attributes are device-reported, so an attacker chooses them) is prefixed with `'` (OWASP
 * "CSV injection").
 *
 * Pure apart from iterating the given devices. Safe for concurrent use.
 *
 * @module
 */
import type { FleetDeviceDetail } from '../store/fleet-store.js';

/** The CSV columns, in order. */
export const CSV_COLUMNS = [
  'deviceId',
  'status',
  'provisioning',
  'model',
  'hardwareRevision',
  'hardwareIds',
  'installed',
  'attributes',
  'addresses',
  'createdAt',
  'firstSeen',
  'lastSeen',
] as const;

/** One CSV cell, formula-guarded and quoted as needed. */
export function csvCell(value: string): string {
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

/** One device as a CSV line (with CRLF). */
export function csvLine(device: FleetDeviceDetail): string {
  const installed = device.ecus.map((e) => `${e.ecuSerial}=${e.installedTarget ?? ''}`).join(';');
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    deviceId: device.deviceId,
    status: device.status,
    provisioning: device.provisioning,
    model: device.model ?? '',
    hardwareRevision: device.hardwareRevision ?? '',
    hardwareIds: device.hardwareIds.join(';'),
    installed,
    attributes:
      Object.keys(device.attributes).length === 0 ? '' : JSON.stringify(device.attributes),
    addresses: device.addresses.join(';'),
    createdAt: device.createdAt,
    firstSeen: device.firstSeen ?? '',
    lastSeen: device.lastSeen ?? '',
  };
  return `${CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',')}\r\n`;
}

/** The export as text chunks: a CSV header and one line per device, or one JSON array. */
export async function* exportChunks(
  devices: AsyncIterable<FleetDeviceDetail>,
  format: 'csv' | 'json',
): AsyncGenerator<string> {
  if (format === 'csv') {
    yield `${CSV_COLUMNS.join(',')}\r\n`;
    for await (const device of devices) yield csvLine(device);
    return;
  }
  yield '[';
  let first = true;
  for await (const device of devices) {
    yield `${first ? '' : ','}\n${JSON.stringify(device)}`;
    first = false;
  }
  yield '\n]\n';
}
