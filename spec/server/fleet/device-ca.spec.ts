/**
 * The device CA adapter drives the real `openssl` command: certificates it issues chain to its
 * CA, carry the device id as the only CN and the right key usages, and no key is overwritten.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  initDeviceCa,
  issueDeviceCertificate,
  issueServerCertificate,
} from '../../../src/server/fleet/device-ca.js';
import { systemTools } from '../../helpers/system-tools.js';

let dir: string;
let caDir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-ca-spec-'));
  caDir = path.join(dir, 'ca');
  await initDeviceCa(caDir, { name: 'spec CA' });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function cert(file: string): Promise<X509Certificate> {
  return new X509Certificate(await fs.readFile(file));
}

const tools = systemTools('device-ca.spec.ts', ['openssl']);

describe.skipIf(tools.skip)('device CA', () => {
  it('makes a CA certificate and a key only its owner reads', async () => {
    const ca = await cert(path.join(caDir, 'ca.crt'));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=spec CA');
    expect((await fs.stat(path.join(caDir, 'ca.key'))).mode & 0o077).toBe(0);
  });

  it('issues a client certificate for a device, signed by the CA', async () => {
    const out = await issueDeviceCertificate(caDir, 'vin-7', path.join(dir, 'devices'));
    const ca = await cert(path.join(caDir, 'ca.crt'));
    const device = await cert(out.cert);
    expect(device.subject).toBe('CN=vin-7');
    expect(device.ca).toBe(false);
    expect(device.verify(ca.publicKey)).toBe(true);
    expect(device.checkIssued(ca)).toBe(true);
    expect(device.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
    expect((await fs.stat(out.key)).mode & 0o077).toBe(0);
  });

  it('issues a server certificate with subjectAltName for each host', async () => {
    const out = await issueServerCertificate(
      caDir,
      ['127.0.0.1', 'fleet.example'],
      path.join(dir, 'tls'),
    );
    const server = await cert(out.cert);
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(server.subjectAltName).toContain('DNS:fleet.example');
    expect(server.checkHost('fleet.example')).toBe('fleet.example');
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('refuses to overwrite a CA or a device key', async () => {
    await expect(initDeviceCa(caDir)).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
    const devices = path.join(dir, 'devices');
    const before = await fs.readFile(path.join(devices, 'vin-7.key'));
    await expect(issueDeviceCertificate(caDir, 'vin-7', devices)).rejects.toMatchObject({
      code: 'ERR_TUF_FLEET_CONFLICT',
    });
    expect(await fs.readFile(path.join(devices, 'vin-7.key'))).toEqual(before);
  });

  it('refuses device ids that would change the certificate subject or the file name', async () => {
    for (const id of ['a/CN=admin', '../x', 'vin 1', '', 'a=b']) {
      await expect(issueDeviceCertificate(caDir, id, path.join(dir, 'bad'))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_BAD_REQUEST',
      });
    }
    await expect(fs.readdir(path.join(dir, 'bad'))).rejects.toThrow();
  });
});
