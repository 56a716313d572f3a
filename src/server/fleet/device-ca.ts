/**
 * The device CA for mutual TLS (`tufota server ca init|issue`): an adapter over the `openssl`
 * command (Debian package `openssl`), run with argument arrays (no shell).
 *
 * - `initDeviceCa(dir)`: a P-256 CA key (`ca.key`, mode 0600) and a self-signed CA certificate
 *   (`ca.crt`, `CA:TRUE`, `keyCertSign`), ten years;
 * - `issueDeviceCertificate(dir, deviceId, outDir)`: a device key and a certificate with subject
 *   `CN=<deviceId>`, `clientAuth`, signed by the CA — the server takes the CN as the device id;
 * - `issueServerCertificate(dir, hosts, outDir)`: the server's own TLS certificate (`serverAuth`,
 *   subjectAltName for each host name or IP address), signed by the same CA, so a device trusts
 *   the server by the one CA certificate it is provisioned with.
 *
 * P-256 rather than ed25519 keys: TLS stacks on devices (OpenSSL 1.1, mbedTLS, curl) all speak
 * ECDSA P-256 client certificates; ed25519 in TLS is not universal yet.
 *
 * Never overwrites a key: an existing `ca.key` or device key is refused. Safe for concurrent use
 * on different output paths.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FleetError, InvalidStateError } from '../../errors.js';

const run = promisify(execFile);

/** Files of a CA directory. */
export function caFiles(dir: string): { key: string; cert: string } {
  return { key: path.join(dir, 'ca.key'), cert: path.join(dir, 'ca.crt') };
}

/** Issued key and certificate paths. */
export interface IssuedCertificate {
  key: string;
  cert: string;
}

const SUBJECT_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new InvalidStateError(
        'the openssl command is missing: install it (Debian/Ubuntu: apt-get install openssl)',
        { cause: error },
      );
    }
    throw new InvalidStateError(
      `openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-2).join(' ')}`,
      { cause: error },
    );
  }
}

async function refuseExisting(file: string): Promise<void> {
  const exists = await fs.lstat(file).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new FleetError(
      'ERR_TUF_FLEET_CONFLICT',
      `${file} already exists; refusing to overwrite a key (move it away first)`,
    );
  }
}

/** Make a private P-256 key file, mode 0600. */
async function newKey(file: string): Promise<void> {
  await refuseExisting(file);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await fs.open(file, 'wx', 0o600);
  await handle.close();
  await openssl([
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    file,
  ]);
  await fs.chmod(file, 0o600);
}

/**
 * Create the CA in `dir` (`ca.key`, `ca.crt`).
 *
 * @example
 * ```ts
 * await initDeviceCa('/var/lib/tufota-server/ca', { name: 'ACME device CA' });
 * ```
 */
export async function initDeviceCa(
  dir: string,
  options: { name?: string; days?: number } = {},
): Promise<{ key: string; cert: string }> {
  const files = caFiles(dir);
  await refuseExisting(files.cert);
  await newKey(files.key);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    files.key,
    '-out',
    files.cert,
    '-days',
    String(options.days ?? 3650),
    '-subj',
    `/CN=${(options.name ?? 'tufota device CA').replace(/[/=\\]/g, ' ')}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return files;
}

async function sign(
  caDir: string,
  commonName: string,
  out: IssuedCertificate,
  extensions: string,
  days: number,
): Promise<void> {
  const ca = caFiles(caDir);
  for (const file of [ca.key, ca.cert]) {
    await fs.access(file).catch((error) => {
      throw new InvalidStateError(
        `no device CA at ${caDir} (${file} is missing): run tufota server ca init`,
        {
          cause: error,
        },
      );
    });
  }
  await refuseExisting(out.cert);
  await newKey(out.key);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-ca-'));
  try {
    const csr = path.join(work, 'req.csr');
    const ext = path.join(work, 'ext.cnf');
    await fs.writeFile(ext, extensions);
    await openssl(['req', '-new', '-key', out.key, '-out', csr, '-subj', `/CN=${commonName}`]);
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      ext,
      '-out',
      out.cert,
    ]);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * Issue a client certificate for `deviceId` (subject CN) into `outDir` (`<id>.key`, `<id>.crt`).
 *
 * @throws FleetError 400 for a device id that cannot be a subject, 409 when the files exist.
 */
export async function issueDeviceCertificate(
  caDir: string,
  deviceId: string,
  outDir: string,
  options: { days?: number } = {},
): Promise<IssuedCertificate> {
  if (!SUBJECT_VALUE.test(deviceId)) {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      `device id ${JSON.stringify(deviceId)} must be 1-128 of A-Z a-z 0-9 . _ : @ - (starting with a letter or digit)`,
    );
  }
  const out = {
    key: path.join(outDir, `${deviceId}.key`),
    cert: path.join(outDir, `${deviceId}.crt`),
  };
  await sign(
    caDir,
    deviceId,
    out,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'),
    options.days ?? 825,
  );
  return out;
}

/**
 * Issue the server's TLS certificate for `hosts` (DNS names or IP addresses) into `outDir`
 * (`server.key`, `server.crt`).
 */
export async function issueServerCertificate(
  caDir: string,
  hosts: string[],
  outDir: string,
  options: { days?: number } = {},
): Promise<IssuedCertificate> {
  if (hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.:-]{1,253}$/.test(h))) {
    throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', 'give host names or IP addresses');
  }
  const san = hosts.map((h) => (/^[0-9.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  const out = { key: path.join(outDir, 'server.key'), cert: path.join(outDir, 'server.crt') };
  await sign(
    caDir,
    hosts[0] as string,
    out,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${san}`,
      '',
    ].join('\n'),
    options.days ?? 825,
  );
  return out;
}
