/**
 * The fleet mode's wiring, in process: `openFleetSession` + `fleetCycle` (what `tufota-agent
 * check`/`daemon` run) over file A/B slots, against a loopback device API whose director and
 * image repository are the library's real `Director` and a published `Repository` (the routes
 * and shapes of docs/fleet-server-api.md; the fleet server's own end-to-end test is
 * `fleet-e2e.spec.ts`). Proves the device side: an assignment is verified, installed, committed
 * after the reboot; the manifest reaches the director, whose inventory then shows the image;
 * phases and log tails are posted with the director's correlation id; a release whose trial
 * cannot reach the server's `/health` rolls back, and its log tail says why; a consent deployment
 * asks `fleet.consentCommand` (request on stdin and in the environment) and is deferred — a
 * `deferred` phase posted, nothing installed — until it exits 0.
 */
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentConfig, parseAgentConfig } from '../../src/agent/config.js';
import { fleetCycle, sendManifest } from '../../src/agent/fleet-commands.js';
import { loadOrCreateEcuKey, openFleetSession } from '../../src/agent/fleet-wiring.js';
import { InMemorySigner } from '../../src/crypto/index.js';
import { BootSimulator, FileSlotController, imageStartsWith } from '../../src/device/index.js';
import { Repository } from '../../src/repository/repository.js';
import { FsRepositoryStorage } from '../../src/storage/fs-repository-storage.js';
import { Director, FileInventoryStore } from '../../src/uptane/index.js';
import { GOOD_IMAGE, makeImage } from '../device/agent-helpers.js';

const V2 = makeImage(300_000, 2);
const V3 = makeImage(200_000, 3);

let dir: string;
let director: Director;
let imageRepo: Repository;
let api: http.Server;
let url: string;
let healthy = true;
let config: AgentConfig;
const events: Record<string, unknown>[] = [];
const logs: { correlationId: string; lines: string[] }[] = [];
const dev = { a: '', b: '', env: '', cmdline: '' };

function send(res: http.ServerResponse, status: number, value?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(value === undefined ? undefined : JSON.stringify(value));
}

async function handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
  const u = req.url ?? '';
  if (u === '/health') return send(res, healthy ? 200 : 503, { status: healthy ? 'ok' : 'down' });
  if (u === '/api/device/v1/register') {
    const r = JSON.parse(body.toString());
    if ((await director.device(r.deviceId)) === undefined) {
      const ecu = r.ecus[0];
      await director.registerDevice({
        deviceId: r.deviceId,
        primary: { ecuSerial: ecu.ecuSerial, hardwareId: ecu.hardwareId, publicKey: ecu.publicKey },
        secondaries: [],
      });
    }
    return send(res, 201, { status: 'accepted' });
  }
  if (u === '/api/device/v1/challenge') {
    return send(res, 200, { challengeId: 'c', nonce: 'n', expiresAt: '2099-01-01T00:00:00Z' });
  }
  if (u === '/api/device/v1/token') {
    return send(res, 200, { token: 'tdv_x', expiresAt: '2099-01-01T00:00:00Z' });
  }
  if (req.headers.authorization !== 'Bearer tdv_x') {
    return send(res, 401, { error: { code: 'ERR_TUF_FLEET_UNAUTHENTICATED', message: 'no' } });
  }
  if (u.startsWith('/director/vin-1/')) {
    const bytes = await director.metadata('vin-1', decodeURIComponent(u.slice(16)));
    if (bytes === undefined) return send(res, 404, { error: { code: 'ERR_TUF_FLEET_NOT_FOUND' } });
    res.end(Buffer.from(bytes));
    return;
  }
  if (u.startsWith('/repo/')) {
    const file = path.join(dir, 'image-repo', ...u.slice(6).split('/').map(decodeURIComponent));
    const bytes = await fs.readFile(file).catch(() => undefined);
    if (bytes === undefined) return send(res, 404, { error: { code: 'ERR_TUF_FLEET_NOT_FOUND' } });
    res.end(bytes);
    return;
  }
  if (u === '/api/device/v1/manifest') {
    const result = await director.receiveManifest('vin-1', new Uint8Array(body));
    return send(res, 200, { accepted: result !== undefined });
  }
  if (u === '/api/device/v1/events') {
    events.push(JSON.parse(body.toString()));
    return send(res, 201, {});
  }
  if (u === '/api/device/v1/logs') {
    logs.push(JSON.parse(body.toString()));
    return send(res, 201, {});
  }
  return send(res, 404, { error: { code: 'ERR_TUF_FLEET_NOT_FOUND' } });
}

/** The bootloader's turn, as after the reboot the agent asked for. */
async function reboot(): Promise<string> {
  const slots = await FileSlotController.create({
    envPath: dev.env,
    slotDevices: { A: dev.a, B: dev.b },
    evidence: { cmdlinePath: dev.cmdline, mountInfoPath: null },
  });
  const boot = await new BootSimulator(slots, {
    isBootable: imageStartsWith(GOOD_IMAGE),
  }).simulateBoot();
  return boot.booted;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-fleet-session-'));
  const key = await InMemorySigner.generate('ed25519');
  const one = { keys: [key] };
  const storage = await FsRepositoryStorage.open(path.join(dir, 'image-repo'));
  imageRepo = await Repository.create(storage, {
    roles: { root: one, targets: one, snapshot: one, timestamp: one },
    signers: [key],
  });
  await imageRepo.addTarget('gateway/fw-2.img', V2, {
    hardwareIds: ['gateway'],
    releaseCounter: 2,
    version: '2.0.0',
  });
  await imageRepo.addTarget('gateway/fw-3.img', V3, {
    hardwareIds: ['gateway'],
    releaseCounter: 3,
    version: '3.0.0',
  });
  await imageRepo.publish();
  const signer = () => InMemorySigner.generate('ed25519');
  director = await Director.create({
    inventory: new FileInventoryStore(path.join(dir, 'director')),
    signers: {
      root: await signer(),
      targets: await signer(),
      snapshot: await signer(),
      timestamp: await signer(),
    },
  });
  api = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks), res).catch((error) =>
        send(res, 500, { error: { code: 'ERR_TUF', message: String(error) } }),
      );
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/`;

  const device = path.join(dir, 'device');
  await fs.mkdir(device);
  Object.assign(dev, {
    a: path.join(device, 'slot-a.img'),
    b: path.join(device, 'slot-b.img'),
    env: path.join(device, 'env.json'),
    cmdline: path.join(device, 'cmdline'),
  });
  await fs.writeFile(dev.a, makeImage(100_000, 1));
  await fs.writeFile(dev.b, Buffer.alloc(V2.length + 4096));
  await FileSlotController.initEnv({ envPath: dev.env, bootSlot: 'A' });
  await fs.writeFile(dev.cmdline, `console=ttyS0 root=${dev.a} ro\n`);
  await fs.writeFile(path.join(device, 'director-root.json'), director.root() as Uint8Array);
  await fs.copyFile(
    path.join(dir, 'image-repo', 'metadata', '1.root.json'),
    path.join(device, 'image-root.json'),
  );
  config = parseAgentConfig({
    hardwareId: 'gateway',
    stateDir: path.join(device, 'state'),
    slots: {
      type: 'file',
      devices: { A: dev.a, B: dev.b },
      envPath: dev.env,
      cmdlinePath: dev.cmdline,
    },
    rebootCommand: ['true'],
    tuning: { blockSize: 65536, checkpointBytes: 65536 },
    fleet: {
      url,
      deviceId: 'vin-1',
      ecuSerial: 'gw-1',
      directorRoot: path.join(device, 'director-root.json'),
      imageRoot: path.join(device, 'image-root.json'),
      provisioning: { mode: 'device-key' },
      model: 'gw-200',
    },
  });
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => {
    api?.closeAllConnections();
    api?.close(() => resolve());
  });
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function cycle(with_: AgentConfig = config) {
  const session = await openFleetSession(with_, 'fleet-session spec');
  try {
    return await fleetCycle(session);
  } finally {
    await session.close();
  }
}

async function resume() {
  const session = await openFleetSession(config, 'fleet-session spec');
  try {
    const result = await session.primary.resume();
    return { result, manifest: await sendManifest(session) };
  } finally {
    await session.close();
  }
}

describe('fleet mode over a loopback device API', { timeout: 120_000 }, () => {
  it('the ECU key is created once, mode 0600, and kept', async () => {
    const file = config.fleet?.ecuKey as string;
    const first = await loadOrCreateEcuKey(file);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateEcuKey(file)).keyid).toBe(first.keyid);
  });

  it('nothing assigned: registers, posts the manifest, the director knows the device', async () => {
    const result = await cycle();
    expect(result).toMatchObject({
      action: 'none',
      fleet: { registration: 'accepted', manifest: 'sent', ecus: [{ outcome: 'no-update' }] },
    });
    const record = await director.device('vin-1');
    expect(record?.ecus[0]).toMatchObject({ ecuSerial: 'gw-1', lastReportCounter: 1 });
  });

  it('an assignment is installed, committed after the reboot, and reported', async () => {
    const entry = imageRepo.getTarget('gateway/fw-2.img')?.target;
    await director.assign('vin-1', 'campaign-2', [{ ecuSerial: 'gw-1', target: entry as never }]);
    const result = await cycle();
    expect(result).toMatchObject({
      action: 'install',
      fleet: { correlationId: 'campaign-2', ecus: [{ outcome: 'installing' }] },
    });
    expect(await reboot()).toBe('B');
    const { result: resumed, manifest } = await resume();
    expect(resumed.outcome).toBe('committed');
    expect(manifest).toBe('sent');
    const record = await director.device('vin-1');
    expect(record?.ecus[0]?.installedImage?.filepath).toBe('gateway/fw-2.img');
    const phases = events.filter((e) => e.correlationId === 'campaign-2').map((e) => e.phase);
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
    const committedLog = logs.find((l) => l.correlationId === 'campaign-2');
    expect(committedLog?.lines.join('\n')).toMatch(/phase=committed/);
    expect((await cycle()).action).toBe('up-to-date');
  });

  it('a release whose trial cannot reach the server rolls back; the log tail says why', async () => {
    const entry = imageRepo.getTarget('gateway/fw-3.img')?.target;
    await director.assign('vin-1', 'campaign-3', [{ ecuSerial: 'gw-1', target: entry as never }]);
    expect((await cycle()).action).toBe('install');
    expect(await reboot()).toBe('A');
    healthy = false; // the new release cannot reach the update server
    const rejected = await resume();
    expect(rejected.result.outcome).toBe('rebooting');
    healthy = true;
    expect(await reboot()).toBe('B');
    const { result } = await resume();
    expect(result).toMatchObject({
      outcome: 'rolledBack',
      error: { code: 'ERR_TUF_HEALTH_CHECK' },
    });
    const record = await director.device('vin-1');
    expect(record?.ecus[0]?.installedImage?.filepath).toBe('gateway/fw-2.img');
    expect(events).toContainEqual(
      expect.objectContaining({ phase: 'rolledBack', correlationId: 'campaign-3' }),
    );
    const tail = logs
      .filter((l) => l.correlationId === 'campaign-3')
      .flatMap((l) => l.lines)
      .join('\n');
    expect(tail).toContain('fleet server (GET /health)');
  });

  it('a rolled-back release is not installed again for the same signed order, only for a new one', async () => {
    // The director above still assigns campaign-3 (nothing cleared it): without the guard the
    // device would install, reboot and roll back in a loop.
    const writesBefore = events.filter(
      (e) => e.correlationId === 'campaign-3' && e.phase === 'writing',
    ).length;
    const again = await cycle();
    expect(again).toMatchObject({
      action: 'refused',
      fleet: {
        ecus: [
          { outcome: 'failed', targetPath: 'gateway/fw-3.img', error: { code: 'ERR_TUF_POLICY' } },
        ],
      },
    });
    expect(again.reason).toContain(
      'not installed again until the director issues a new assignment',
    );
    expect(
      events.filter((e) => e.correlationId === 'campaign-3' && e.phase === 'writing'),
    ).toHaveLength(writesBefore);
    expect((await cycle()).action).toBe('refused'); // and stays so

    // The operator retries: the order is re-issued (new signed targets) and installed again.
    const entry = imageRepo.getTarget('gateway/fw-3.img')?.target;
    await director.assign('vin-1', 'campaign-3', [{ ecuSerial: 'gw-1', target: entry as never }]);
    expect((await cycle()).action).toBe('install');
    // It fails its trial again; the device ends where it was, on fw-2.
    expect(await reboot()).toBe('A');
    healthy = false;
    expect((await resume()).result.outcome).toBe('rebooting');
    healthy = true;
    expect(await reboot()).toBe('B');
    expect((await resume()).result.outcome).toBe('rolledBack');
    expect((await director.device('vin-1'))?.ecus[0]?.installedImage?.filepath).toBe(
      'gateway/fw-2.img',
    );
  });

  it('a consent deployment asks fleet.consentCommand: no (or no answer) defers, yes installs', async () => {
    const V4 = makeImage(150_000, 4);
    await imageRepo.addTarget('gateway/fw-4.img', V4, {
      hardwareIds: ['gateway'],
      releaseCounter: 4,
      version: '4.0.0',
    });
    await imageRepo.publish();
    const entry = imageRepo.getTarget('gateway/fw-4.img')?.target;
    await director.assign('vin-1', 'campaign-4', [{ ecuSerial: 'gw-1', target: entry as never }], {
      updateControl: 'consent',
    });
    const fleet = config.fleet as NonNullable<AgentConfig['fleet']>;
    const withConsent = (consentCommand: string[] | undefined, consentTimeoutMs = 10_000) => ({
      ...config,
      fleet: { ...fleet, consentTimeoutMs, ...(consentCommand ? { consentCommand } : {}) },
    });
    const request = path.join(dir, 'consent-request.json');

    // The integrator says no: the request arrived on stdin and in the environment.
    const declined = await cycle(
      withConsent([
        'sh',
        '-c',
        'cat > "$0"; echo "$TUFOTA_CORRELATION_ID $TUFOTA_DEVICE_ID $TUFOTA_TARGETS" > "$0.env"; exit 3',
        request,
      ]),
    );
    expect(declined).toMatchObject({
      action: 'deferred',
      fleet: { correlationId: 'campaign-4', ecus: [{ outcome: 'deferred' }], manifest: 'sent' },
    });
    expect(declined.reason).toContain('consent');
    expect(JSON.parse(await fs.readFile(request, 'utf8'))).toEqual({
      correlationId: 'campaign-4',
      deviceId: 'vin-1',
      images: [{ ecuSerial: 'gw-1', targetPath: 'gateway/fw-4.img', length: V4.length }],
    });
    expect((await fs.readFile(`${request}.env`, 'utf8')).trim()).toBe(
      'campaign-4 vin-1 gateway/fw-4.img',
    );
    expect(events).toContainEqual(
      expect.objectContaining({ phase: 'deferred', correlationId: 'campaign-4' }),
    );
    expect(events.filter((e) => e.correlationId === 'campaign-4').map((e) => e.phase)).toEqual([
      'deferred',
    ]);
    expect((await director.device('vin-1'))?.ecus[0]?.installedImage?.filepath).toBe(
      'gateway/fw-2.img',
    );

    // No command configured: deferred, and the reason says why.
    const unasked = await cycle(withConsent(undefined));
    expect(unasked.action).toBe('deferred');
    expect(unasked.reason).toContain('no fleet.consentCommand');

    // A command that does not answer in time is killed: a no.
    const started = Date.now();
    expect((await cycle(withConsent(['sleep', '30'], 300))).action).toBe('deferred');
    expect(Date.now() - started).toBeLessThan(10_000);

    // Yes: installed like any assignment.
    const accepted = await cycle(withConsent(['true']));
    expect(accepted).toMatchObject({
      action: 'install',
      fleet: { correlationId: 'campaign-4', ecus: [{ outcome: 'installing' }] },
    });
  });
});
