/**
 * Acceptance of the fleet server issue, device side: the real `tufota server` (spawned from the
 * built CLI, HTTPS with the device CA from `tufota server ca`, SQLite) serving a repository
 * published with the `tufota` CLI, and real `tufota-agent` processes in fleet mode with file A/B
 * slots. The test process plays the operator (the admin API with the token `tufota server init`
 * printed), the factory (key files, certificates, the two roots) and the bootloader between
 * "reboots" (`BootSimulator`; the agents' reboot command is `true`).
 *
 * In order: each provisioning mode registers (mtls with a certificate from the device CA;
 * device-key pre-authorized through the admin API; manual → pending → accepted by an operator;
 * shared-key with `--unsafe-shared-key`); an operator assigns an image, the agent's daemon
 * installs it, the simulated reboot + `resume` commits it, and the admin API shows the new
 * installed image, the update's phases and its log tail; then a release whose trial health check
 * fails rolls back, and the rollback and its log tail show in the admin API too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetClient } from '../../src/agent/fleet-client.js';
import { InMemorySigner } from '../../src/crypto/index.js';
import { BootSimulator, FileSlotController, imageStartsWith } from '../../src/device/index.js';
import { buildOnce, ok, PASSWORD, removeDir, tempDir } from '../cli/helpers.js';
import { GOOD_IMAGE, makeImage } from '../device/agent-helpers.js';
import { agent, CLI, type Daemon, startDaemon } from './helpers.js';

const V2 = makeImage(400_000, 2);
const V3 = makeImage(300_000, 3);

let work: string;
let repo: string;
let serverConfig: string;
let server: { url: string; child: ChildProcess; stop(): Promise<void> } | undefined;
let adminToken: string;
let caCert: string;
let adminAgent: Agent | undefined;
const daemons: Daemon[] = [];

/** One simulated device: its files and its agent configuration. */
interface Device {
  id: string;
  dir: string;
  config: string;
  a: string;
  b: string;
  env: string;
  cmdline: string;
}
const devices: Record<string, Device> = {};

/** One admin API call with the operator's token. */
async function admin(
  method: string,
  urlPath: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers read by assertions.
): Promise<{ status: number; json: any }> {
  adminAgent ??= new Agent({ connect: { ca: await fs.readFile(caCert, 'utf8') } });
  const response = await request(`${server?.url}/api/admin/v1/${urlPath}`, {
    method: method as 'GET',
    dispatcher: adminAgent,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  const status = response.statusCode;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status, json };
}

async function publish(image: Uint8Array, name: string, version: string, counter: number) {
  const file = path.join(work, name);
  await fs.writeFile(file, image);
  await ok(
    [
      'add-target',
      file,
      '--path',
      `gateway/${name}`,
      '--hardware-id',
      'gateway',
      '--version',
      version,
      '--release-counter',
      String(counter),
    ],
    repo,
  );
  await ok(['publish'], repo);
}

/** Start `tufota server start` and read its URL from the first JSON line. */
async function startServer(): Promise<NonNullable<typeof server>> {
  const secret = path.join(work, 'fleet.secret');
  const child = spawn(
    process.execPath,
    [CLI, 'server', 'start', '--config', serverConfig, '--unsafe-shared-key', secret],
    {
      env: { PATH: process.env.PATH, TUFOTA_KEY_PASSWORD: PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout.resume(); // one JSON access-log line per request
  // `start` says where it listens on stderr: "fleet server at URL; press Ctrl-C to stop".
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
    child.stderr.on('data', () => {
      const m = /fleet server at (\S+?);/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolve((m[1] as string).replace(/\/$/, ''));
      }
    });
    child.once('exit', () => reject(new Error(`server exited: ${err}`)));
  });
  return {
    url,
    child,
    stop: async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A device directory: slot A holds the factory image, B is empty, booted A. */
async function makeDevice(
  id: string,
  provisioning: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Device> {
  const dir = path.join(work, id);
  await fs.mkdir(dir, { recursive: true });
  const d: Device = {
    id,
    dir,
    config: path.join(dir, 'agent.json'),
    a: path.join(dir, 'slot-a.img'),
    b: path.join(dir, 'slot-b.img'),
    env: path.join(dir, 'env.json'),
    cmdline: path.join(dir, 'cmdline'),
  };
  await fs.writeFile(d.a, makeImage(100_000, 1));
  await fs.writeFile(d.b, Buffer.alloc(V2.length + 4096));
  await FileSlotController.initEnv({ envPath: d.env, bootSlot: 'A' });
  await fs.writeFile(d.cmdline, `console=ttyS0 root=${d.a} ro\n`);
  devices[id] = d;
  await writeConfig(d, provisioning, extra);
  return d;
}

async function writeConfig(
  d: Device,
  provisioning: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await fs.writeFile(
    d.config,
    JSON.stringify({
      hardwareId: 'gateway',
      stateDir: './state',
      slots: {
        type: 'file',
        devices: { A: './slot-a.img', B: './slot-b.img' },
        envPath: './env.json',
        cmdlinePath: './cmdline',
      },
      rebootCommand: ['true'],
      poll: { intervalSeconds: 1, jitterSeconds: 0, maxBackoffSeconds: 2 },
      tuning: { blockSize: 65536, checkpointBytes: 65536 },
      ...extra,
      fleet: {
        url: server?.url,
        deviceId: d.id,
        ecuSerial: `${d.id}-gw`,
        directorRoot: path.join(work, 'director-root.json'),
        imageRoot: path.join(repo, 'metadata', '1.root.json'),
        ca: caCert,
        provisioning,
        model: 'gw-200',
        attributes: { site: 'oslo' },
      },
    }),
  );
}

/** The bootloader's turn for device `d`. */
async function reboot(d: Device): Promise<string> {
  const slots = await FileSlotController.create({
    envPath: d.env,
    slotDevices: { A: d.a, B: d.b },
    evidence: { cmdlinePath: d.cmdline, mountInfoPath: null },
  });
  const boot = await new BootSimulator(slots, {
    isBootable: imageStartsWith(GOOD_IMAGE),
  }).simulateBoot();
  return boot.booted;
}

/** A factory-made ECU key for `id` (written where the agent looks for it by default). */
async function factoryKey(id: string): Promise<InMemorySigner> {
  const signer = await InMemorySigner.generate('ed25519');
  const stateDir = path.join(work, id, 'state');
  await fs.mkdir(stateDir, { recursive: true });
  await fs.writeFile(path.join(stateDir, 'ecu-key.pem'), signer.exportPrivateKeyPem(), {
    mode: 0o600,
  });
  return signer;
}

beforeAll(async () => {
  await buildOnce();
  work = await tempDir('tufota-fleet-e2e-');
  repo = path.join(work, 'repo');
  await ok(['init', 'repo', '--keys-dir', 'keys'], work);
  await publish(V2, 'fw-2.img', '2.0.0', 2);
  await publish(V3, 'fw-3.img', '3.0.0', 3);

  // The operator: a device CA with a server certificate for 127.0.0.1, the server's config.
  const serverDir = path.join(work, 'server');
  await fs.mkdir(serverDir);
  serverConfig = path.join(serverDir, 'fleet.json');
  await fs.writeFile(
    serverConfig,
    JSON.stringify({
      host: '127.0.0.1',
      port: 0,
      repository: { dir: repo },
      provisioning: { modes: ['mtls', 'device-key', 'manual'] },
      tls: { cert: 'data/tls/server.crt', key: 'data/tls/server.key' },
    }),
  );
  await fs.writeFile(path.join(work, 'fleet.secret'), 'a fleet-wide secret for air-gapped sites');
  await ok(['server', 'ca', 'init', '--config', serverConfig], serverDir);
  await ok(['server', 'ca', 'issue', '--server', '127.0.0.1', '--config', serverConfig], serverDir);
  await ok(
    [
      'server',
      'ca',
      'issue',
      '--device',
      'vin-mtls',
      '--out',
      path.join(work, 'vin-mtls-cert'),
      '--config',
      serverConfig,
    ],
    serverDir,
  );
  caCert = path.join(serverDir, 'data', 'ca', 'ca.crt');
  const init = await ok(['server', 'init', '--config', serverConfig, '--json'], serverDir);
  adminToken = init.json.token;
  server = await startServer();
}, 300_000);

afterAll(async () => {
  for (const d of daemons) d.child.kill('SIGKILL');
  await server?.stop();
  await adminAgent?.close();
  if (work) await removeDir(work);
});

describe('tufota-agent fleet mode against tufota server', { timeout: 180_000 }, () => {
  it('device-key: pre-authorized through the admin API, the agent registers', async () => {
    const signer = await factoryKey('vin-dk');
    const pre = await admin('POST', 'devices', {
      deviceId: 'vin-dk',
      publicKey: signer.publicKey,
    });
    expect(pre.status, JSON.stringify(pre.json)).toBe(201);
    // The factory reads the director's root once, as the pre-authorized device (trust anchor).
    const client = new FleetClient({
      url: server?.url as string,
      deviceId: 'vin-dk',
      signer,
      provisioning: { mode: 'device-key' },
      tls: { ca: await fs.readFile(caCert, 'utf8') },
    });
    try {
      await client.register({
        ecus: [
          {
            ecuSerial: 'vin-dk-gw',
            hardwareId: 'gateway',
            primary: true,
            publicKey: signer.publicKey,
          },
        ],
      });
      const root = await client.directorReader()('1.root.json', 512 * 1024);
      expect(root).toBeDefined();
      await fs.writeFile(path.join(work, 'director-root.json'), root as Uint8Array);
    } finally {
      await client.close();
    }
    const d = await makeDevice('vin-dk', { mode: 'device-key' });
    const check = await agent(['check', '--config', d.config, '--json']);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect(check.json).toMatchObject({
      action: 'none',
      fleet: { deviceId: 'vin-dk', registration: 'accepted', manifest: 'sent' },
    });
    const detail = await admin('GET', 'devices/vin-dk');
    expect(detail.json).toMatchObject({
      deviceId: 'vin-dk',
      status: 'accepted',
      provisioning: 'device-key',
      model: 'gw-200',
      attributes: { site: 'oslo' },
      ecus: [{ ecuSerial: 'vin-dk-gw', hardwareId: 'gateway' }],
    });
    const status = await agent(['status', '--config', d.config, '--json']);
    expect(status.json).toMatchObject({
      format: 'tufota-agent-status-v1',
      fleet: { deviceId: 'vin-dk', provisioning: 'device-key', keyid: signer.keyid },
    });
  });

  it('manual: pending until an operator accepts it through the admin API', async () => {
    const d = await makeDevice('vin-manual', { mode: 'manual' });
    const pending = await agent(['check', '--config', d.config, '--json']);
    expect(pending.code).toBe(1);
    expect(pending.json.error).toMatchObject({ code: 'ERR_TUF_FLEET_DEVICE_PENDING' });
    expect(pending.json.error.message).toContain(
      'device vin-manual is pending: an operator must accept it (POST /api/admin/v1/devices/vin-manual/accept)',
    );
    const listed = await admin('GET', 'devices?status=pending');
    expect(listed.json.items.map((i: { deviceId: string }) => i.deviceId)).toContain('vin-manual');
    // The key an operator accepts is the one the device generated on its first start.
    const status = await agent(['status', '--config', d.config, '--json']);
    expect((await admin('GET', 'devices/vin-manual')).json.publicKey).toEqual(
      status.json.fleet.publicKey,
    );
    expect((await admin('POST', 'devices/vin-manual/accept')).status).toBe(200);
    const accepted = await agent(['check', '--config', d.config, '--json']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.json.fleet).toMatchObject({ registration: 'accepted', manifest: 'sent' });
    expect((await admin('GET', 'devices/vin-manual')).json.status).toBe('accepted');
  });

  it('mtls: a certificate from the device CA registers the device, accepted', async () => {
    const certDir = path.join(work, 'vin-mtls-cert');
    const d = await makeDevice('vin-mtls', {
      mode: 'mtls',
      cert: path.join(certDir, 'vin-mtls.crt'),
      key: path.join(certDir, 'vin-mtls.key'),
    });
    const check = await agent(['check', '--config', d.config, '--json']);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect(check.json.fleet).toMatchObject({ registration: 'accepted', manifest: 'sent' });
    expect((await admin('GET', 'devices/vin-mtls')).json).toMatchObject({
      status: 'accepted',
      provisioning: 'mtls',
    });
  });

  it('shared-key: the fleet secret registers the device (server started with --unsafe-shared-key)', async () => {
    const d = await makeDevice('vin-shared', {
      mode: 'shared-key',
      secretFile: path.join(work, 'fleet.secret'),
    });
    const check = await agent(['check', '--config', d.config, '--json']);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect((await admin('GET', 'devices/vin-shared')).json).toMatchObject({
      status: 'accepted',
      provisioning: 'shared-key',
    });
  });

  it('an assigned image is installed by the daemon, committed after the reboot, and visible in the admin API', async () => {
    const d = devices['vin-dk'] as Device;
    const assigned = await admin('POST', 'devices/vin-dk/assign', {
      correlationId: 'campaign-2',
      images: [{ ecuSerial: 'vin-dk-gw', targetPath: 'gateway/fw-2.img' }],
    });
    expect(assigned.status, JSON.stringify(assigned.json)).toBeLessThan(300);
    const daemon = startDaemon(d.config);
    daemons.push(daemon);
    const checked = await daemon.waitFor((e) => e.event === 'checked' && e.action === 'install');
    expect(checked.fleet).toMatchObject({ correlationId: 'campaign-2' });
    expect(await daemon.exited()).toBe(0); // handed over to the reboot
    expect(await reboot(d)).toBe('B');
    const resumed = await agent(['resume', '--config', d.config, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json).toMatchObject({
      outcome: 'committed',
      target: 'gateway/fw-2.img',
      manifest: 'sent',
    });

    const detail = await admin('GET', 'devices/vin-dk');
    expect(detail.json.ecus[0]).toMatchObject({
      ecuSerial: 'vin-dk-gw',
      installedTarget: 'gateway/fw-2.img',
    });
    const events = await admin('GET', 'devices/vin-dk/events?correlationId=campaign-2&limit=1000');
    const phases = events.json.items
      .filter((e: { kind: string }) => e.kind === 'phase')
      .map((e: { data: { phase: string } }) => e.data.phase);
    expect(phases).toEqual(
      expect.arrayContaining([
        'writing',
        'written',
        'activated',
        'rebooting',
        'verifying',
        'committed',
      ]),
    );
    expect(events.json.items.map((e: { kind: string }) => e.kind)).toContain('manifest');
    const logs = await admin('GET', 'devices/vin-dk/logs?correlationId=campaign-2');
    expect(logs.json.items.flatMap((l: { lines: string[] }) => l.lines).join('\n')).toMatch(
      /phase=committed/,
    );
  });

  it('a release whose trial health check fails rolls back; the rollback and its log tail are in the admin API', async () => {
    const d = devices['vin-dk'] as Device;
    await admin('POST', 'devices/vin-dk/assign', {
      correlationId: 'campaign-3',
      images: [{ ecuSerial: 'vin-dk-gw', targetPath: 'gateway/fw-3.img' }],
    });
    const check = await agent(['check', '--config', d.config, '--json']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.json).toMatchObject({
      action: 'install',
      fleet: { correlationId: 'campaign-3' },
    });
    expect(await reboot(d)).toBe('A');
    await writeConfig(
      d,
      { mode: 'device-key' },
      {
        healthChecks: [{ name: 'app', command: ['false'] }],
      },
    );
    const rejected = await agent(['resume', '--config', d.config, '--json']);
    expect(rejected.json).toMatchObject({ outcome: 'rebooting' });
    expect(await reboot(d)).toBe('B');
    const concluded = await agent(['resume', '--config', d.config, '--json']);
    expect(concluded.code).toBe(4);
    expect(concluded.json).toMatchObject({
      outcome: 'rolledBack',
      error: { code: 'ERR_TUF_HEALTH_CHECK' },
      manifest: 'sent',
    });
    const detail = await admin('GET', 'devices/vin-dk');
    expect(detail.json.ecus[0]).toMatchObject({ installedTarget: 'gateway/fw-2.img' });
    const events = await admin('GET', 'devices/vin-dk/events?correlationId=campaign-3&limit=1000');
    expect(
      events.json.items.some(
        (e: { kind: string; data: { phase?: string } }) =>
          e.kind === 'phase' && e.data.phase === 'rolledBack',
      ),
    ).toBe(true);
    const logs = await admin('GET', 'devices/vin-dk/logs?correlationId=campaign-3');
    const tail = logs.json.items.flatMap((l: { lines: string[] }) => l.lines).join('\n');
    expect(tail).toMatch(/phase=rolledBack/);
    expect(tail).toMatch(/app/); // the failing check is named in the tail
  });
});
