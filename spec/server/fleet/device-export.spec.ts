/**
 * CSV export: RFC 4180 quoting and the formula-injection guard on device-chosen cells.
 */
import { describe, expect, it } from 'vitest';
import { csvCell, csvLine, exportChunks } from '../../../src/server/fleet/device-export.js';
import type { FleetDeviceDetail } from '../../../src/server/store/fleet-store.js';

const device: FleetDeviceDetail = {
  deviceId: 'vin-1',
  status: 'accepted',
  provisioning: 'device-key',
  hardwareIds: ['gw'],
  addresses: ['127.0.0.1'],
  attributes: { site: '=HYPERLINK("http://evil","x")' },
  createdAt: '2026-01-01T00:00:00.000Z',
  model: '+cmd|calc',
  ecus: [
    {
      deviceId: 'vin-1',
      ecuSerial: 'gw-1',
      hardwareId: 'gw',
      primary: true,
      installedTarget: 'fw/1.img',
    },
  ],
};

describe('CSV export', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['plain', 'plain'],
  ])('guards %j against formula execution', (input, out) => {
    expect(csvCell(input)).toBe(out);
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=a,"b"')).toBe(`"'=a,""b"""`);
  });

  it('writes one guarded line per device', () => {
    const line = csvLine(device);
    expect(line.endsWith('\r\n')).toBe(true);
    expect(line).toContain("'+cmd|calc");
    // Attributes are one JSON cell: it starts with { (never a formula) and is quoted.
    expect(line).toContain('"{""site"":""=HYPERLINK(');
    expect(line).toContain('gw-1=fw/1.img');
  });

  it('streams a header then the devices; JSON is one array', async () => {
    async function* two() {
      yield device;
      yield { ...device, deviceId: 'vin-2' };
    }
    let csv = '';
    for await (const chunk of exportChunks(two(), 'csv')) csv += chunk;
    expect(csv.split('\r\n')[0]).toBe(
      'deviceId,status,provisioning,model,hardwareRevision,hardwareIds,installed,attributes,addresses,createdAt,firstSeen,lastSeen',
    );
    expect(csv.split('\r\n')).toHaveLength(4);
    let json = '';
    for await (const chunk of exportChunks(two(), 'json')) json += chunk;
    expect((JSON.parse(json) as { deviceId: string }[]).map((d) => d.deviceId)).toEqual([
      'vin-1',
      'vin-2',
    ]);
  });
});
