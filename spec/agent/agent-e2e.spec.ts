/**
 * `tufota-agent` end to end: the real program (`node dist/src/agent/main.js`, spawned as a device
 * runs it) against `tufota serve` (spawned) on 127.0.0.1, with file slots. The test process plays
 * only the bootloader between "reboots" (`BootSimulator` over the same environment file: the
 * reboot command configured is `true`) and the admin (the `tufota` CLI publishes releases).
 *
 * One device lives through the whole file, in order: a consent-mode daemon waits for approval
 * and a second daemon is refused; a daemon is stopped by SIGTERM in the middle of a download and
 * the next one resumes it from the journal; the simulated reboot + `resume` commits; a release
 * whose health check fails rolls back. `status` and `check` are read in text and JSON on the way.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootSimulator, FileSlotController, imageStartsWith } from '../../src/device/index.js';
import { buildOnce, ok, removeDir, tempDir } from '../cli/helpers.js';
import { GOOD_IMAGE, makeImage } from '../device/agent-helpers.js';
import { agent, type Daemon, serve, startDaemon } from './helpers.js';

let work: string;
let repo: string;
let server: { url: string; stop(): Promise<void> };
let configPath: string;
const dev = {
  a: '',
  b: '',
  env: '',
  cmdline: '',
  state: '',
};
const daemons: Daemon[] = [];

const V2 = makeImage(24 * 1024 * 1024, 2); // large enough to be caught mid-download
const V3 = makeImage(512 * 1024, 3);

async function publish(image: Uint8Array, version: string, counter: number): Promise<void> {
  const file = path.join(work, `fw-${version}.img`);
  await fs.writeFile(file, image);
  await ok(
    [
      'add-target',
      file,
      '--path',
      `firmware/board-1/${version}.img`,
      '--hardware-id',
      'board-1',
      '--version',
      version,
      '--release-counter',
      String(counter),
    ],
    repo,
  );
  await ok(['publish'], repo);
}

// biome-ignore lint/suspicious/noExplicitAny: config fields overridden per step.
async function writeConfig(overrides: Record<string, any> = {}): Promise<void> {
  await fs.writeFile(
    configPath,
    JSON.stringify({
      hardwareId: 'board-1',
      stateDir: './state',
      trustedRoot: path.join(repo, 'metadata', '1.root.json'),
      server: { url: server.url },
      target: 'firmware/board-1/',
      slots: {
        type: 'file',
        devices: { A: './slot-a.img', B: './slot-b.img' },
        envPath: './env.json',
        cmdlinePath: './cmdline',
      },
      rebootCommand: ['true'],
      poll: { intervalSeconds: 1, jitterSeconds: 0, maxBackoffSeconds: 2 },
      tuning: { blockSize: 65536, checkpointBytes: 65536 },
      ...overrides,
    }),
  );
}

/** The bootloader's turn: power the device on, as after the reboot the agent asked for. */
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

async function journal() {
  return JSON.parse(
    await fs.readFile(path.join(dev.state, 'journal.json'), 'utf8').catch(() => '{}'),
  );
}

beforeAll(async () => {
  await buildOnce();
  work = await tempDir('tufota-agent-e2e-');
  repo = path.join(work, 'repo');
  await ok(['init', 'repo', '--keys-dir', 'keys'], work);
  await publish(V2, '2.0.0', 2);
  server = await serve(repo);
  const device = path.join(work, 'device');
  await fs.mkdir(device);
  Object.assign(dev, {
    a: path.join(device, 'slot-a.img'),
    b: path.join(device, 'slot-b.img'),
    env: path.join(device, 'env.json'),
    cmdline: path.join(device, 'cmdline'),
    state: path.join(device, 'state'),
  });
  await fs.writeFile(dev.a, makeImage(100_000, 1));
  await fs.writeFile(dev.b, Buffer.alloc(V2.length + 4096));
  await FileSlotController.initEnv({ envPath: dev.env, bootSlot: 'A' });
  await fs.writeFile(dev.cmdline, `console=ttyS0 root=${dev.a} ro\n`);
  configPath = path.join(device, 'agent.json');
  await writeConfig();
}, 300_000);

afterAll(async () => {
  for (const d of daemons) d.child.kill('SIGKILL');
  await server?.stop();
  if (work) await removeDir(work);
});

describe('tufota-agent against tufota serve, file slots', { timeout: 180_000 }, () => {
  it('status before any update: text and --json', async () => {
    const text = await agent(['status', '--config', configPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^booted slot: A$/m);
    expect(text.stdout).toMatch(/^installed: +factory image/m);
    expect(text.stdout).toMatch(/^update: +none$/m);
    expect(text.stdout).toMatch(/^agent: +not running$/m);
    const json = await agent(['status', '--config', configPath, '--json']);
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({
      format: 'tufota-agent-status-v1',
      hardwareId: 'board-1',
      slots: { booted: 'A', nextBoot: 'A', trialPending: false, profile: 'file-mender' },
      installed: null,
      journal: null,
      lastCheck: null,
      lock: null,
      errors: [],
    });
  });

  it('check says what would be installed and why: text and --json', async () => {
    const text = await agent(['check', '--config', configPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^update available: firmware\/board-1\/2\.0\.0\.img 2\.0\.0 is signed for board-1/m,
    );
    const json = await agent(['check', '--config', configPath, '--json']);
    expect(json.json).toMatchObject({
      action: 'install',
      target: {
        path: 'firmware/board-1/2.0.0.img',
        version: '2.0.0',
        releaseCounter: 2,
        length: V2.length,
      },
    });
    expect(
      (await agent(['status', '--config', configPath, '--json'])).json.lastCheck,
    ).toMatchObject({
      action: 'install',
    });
  });

  it('consent: the daemon waits for approval; a second daemon is refused (exit 3, naming the first)', async () => {
    const approval = path.join(work, 'device', 'approve');
    await writeConfig({ updateControl: { mode: 'consent', approvalFile: approval } });
    const first = startDaemon(configPath);
    daemons.push(first);
    await first.waitFor((e) => e.event === 'awaiting-approval');
    const second = await agent(['daemon', '--config', configPath], 30_000);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`in use by tufota-agent daemon (pid ${first.child.pid}`);
    const status = await agent(['status', '--config', configPath, '--json']);
    expect(status.json.lock).toMatchObject({
      pid: first.child.pid,
      purpose: 'tufota-agent daemon',
    });
    expect(status.json.journal).toBeNull(); // nothing written without consent
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    expect(first.events.at(-1)).toMatchObject({ event: 'stopped' });
  });

  it('SIGTERM during a download leaves a resumable journal; the next daemon resumes it and activates', async () => {
    await writeConfig();
    const first = startDaemon(configPath);
    daemons.push(first);
    await first.waitFor((e) => e.event === 'installing');
    // Bounded wait for the first durable checkpoint.
    for (let i = 0; i < 2000 && !((await journal()).bytesVerified > 0); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    expect(first.events.map((e) => e.event)).toContain('interrupted');
    const cut = await journal();
    expect(cut).toMatchObject({ phase: 'writing', slot: 'B' });
    expect(cut.bytesVerified).toBeGreaterThan(0);
    expect(cut.bytesVerified).toBeLessThan(V2.length);
    const status = await agent(['status', '--config', configPath]);
    expect(status.stdout).toMatch(
      new RegExp(
        `^update: +firmware/board-1/2\\.0\\.0\\.img 2\\.0\\.0 → slot B: writing \\(${cut.bytesVerified} of ${V2.length} bytes\\)`,
        'm',
      ),
    );

    const second = startDaemon(configPath);
    daemons.push(second);
    const resumed = await second.waitFor((e) => e.event === 'resumed');
    expect(resumed).toMatchObject({ outcome: 'rebooting' });
    expect(resumed.write.resumedFrom).toBe(cut.bytesVerified);
    expect(await second.exited()).toBe(0); // hands over to the reboot
    expect(await journal()).toMatchObject({ phase: 'rebooting', slot: 'B' });
  });

  it('the simulated reboot + resume commits it', async () => {
    expect(await reboot()).toBe('B');
    const resumed = await agent(['resume', '--config', configPath, '--json']);
    expect(resumed.code).toBe(0);
    expect(resumed.json).toMatchObject({
      outcome: 'committed',
      target: 'firmware/board-1/2.0.0.img',
    });
    const status = await agent(['status', '--config', configPath, '--json']);
    expect(status.json).toMatchObject({
      slots: { booted: 'B', nextBoot: 'B', trialPending: false },
      installed: { slot: 'B', version: '2.0.0', floors: { version: '2.0.0', releaseCounter: 2 } },
      journal: { phase: 'committed', inFlight: false },
    });
    const check = await agent(['check', '--config', configPath]);
    expect(check.stdout).toMatch(
      /^up to date: firmware\/board-1\/2\.0\.0\.img already runs in slot B/m,
    );
  });

  it('a release whose health check fails on its trial boot rolls back', async () => {
    await publish(V3, '3.0.0', 3);
    const installed = await agent(['install', '--config', configPath, '--json']);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.json).toMatchObject({
      outcome: 'rebooting',
      slot: 'A',
      target: 'firmware/board-1/3.0.0.img',
    });
    expect(await reboot()).toBe('A');
    await writeConfig({ healthChecks: [{ name: 'app', command: ['false'] }] });
    const rejected = await agent(['resume', '--config', configPath, '--json']);
    expect(rejected.code).toBe(0);
    expect(rejected.json).toMatchObject({ outcome: 'rebooting' });
    expect(await reboot()).toBe('B');
    const concluded = await agent(['resume', '--config', configPath, '--json']);
    expect(concluded.code).toBe(4);
    expect(concluded.json).toMatchObject({
      outcome: 'rolledBack',
      error: { code: 'ERR_TUF_HEALTH_CHECK' },
    });
    const status = await agent(['status', '--config', configPath, '--json']);
    expect(status.json).toMatchObject({
      slots: { booted: 'B' },
      installed: { slot: 'B', version: '2.0.0', floors: { releaseCounter: 2 } },
      journal: { phase: 'rolledBack' },
    });
  });

  it('install FILE: a local copy is verified against the signed entry; commit concludes the trial', async () => {
    await writeConfig(); // no failing health check any more
    const V4 = makeImage(256 * 1024, 4);
    await publish(V4, '4.0.0', 4);
    const tampered = path.join(work, 'tampered.img');
    const copy = Buffer.from(V4);
    copy[200_000] = (copy[200_000] as number) ^ 1;
    await fs.writeFile(tampered, copy);
    const refused = await agent([
      'install',
      tampered,
      '--target',
      'firmware/board-1/4.0.0.img',
      '--config',
      configPath,
      '--json',
    ]);
    expect(refused.code).toBe(4);
    expect(JSON.parse(refused.stderr).error.code).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(await journal()).toMatchObject({ phase: 'failed', slot: 'A' });
    expect(await reboot()).toBe('B'); // the invalidated slot never boots

    const genuine = path.join(work, 'fw-4.0.0.img');
    const installed = await agent([
      'install',
      genuine,
      '--target',
      'firmware/board-1/4.0.0.img',
      '--config',
      configPath,
      '--json',
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.json).toMatchObject({ outcome: 'rebooting', slot: 'A' });
    expect(await reboot()).toBe('A');
    const committed = await agent(['commit', '--config', configPath, '--json']);
    expect(committed.code, committed.stderr).toBe(0);
    expect(committed.json).toMatchObject({ outcome: 'committed', slot: 'A' });
    const status = await agent(['status', '--config', configPath, '--json']);
    expect(status.json.installed).toMatchObject({
      slot: 'A',
      version: '4.0.0',
      floors: { releaseCounter: 4 },
    });
  });

  it('rollback during the trial rejects the new slot; the next boot concludes rolledBack', async () => {
    const V5 = makeImage(128 * 1024, 5);
    await publish(V5, '5.0.0', 5);
    expect((await agent(['install', '--config', configPath])).code).toBe(0);
    expect(await reboot()).toBe('B');
    const rolled = await agent(['rollback', '--config', configPath, '--json']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.json).toMatchObject({ outcome: 'rebooting', rejected: 'B' });
    expect(await reboot()).toBe('A');
    const concluded = await agent(['resume', '--config', configPath]);
    expect(concluded.code).toBe(4);
    expect(concluded.stdout).toMatch(/^rolledBack: firmware\/board-1\/5\.0\.0\.img/m);
    const status = await agent(['status', '--config', configPath, '--json']);
    expect(status.json.installed).toMatchObject({
      slot: 'A',
      version: '4.0.0',
      floors: { releaseCounter: 4 },
    });
  });

  it('a bad configuration names the field (exit 2)', async () => {
    await writeConfig({ poll: { intervalSeconds: 'hourly' } });
    const run = await agent(['status', '--config', configPath, '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stderr).error).toMatchObject({
      code: 'ERR_TUF_USAGE',
      message: expect.stringContaining('poll.intervalSeconds: expected an integer'),
    });
    await writeConfig();
  });
});
