/**
 * A simulated fleet (issue 15): one real fleet server (SQLite store, director, rollout engine,
 * admin API on loopback) and many simulated devices, each the real fleet-mode agent daemon
 * (`runFleetDaemon`: Uptane primary, A/B install, trial health checks, phase reports, manifests)
 * on its own file-backed slots, with {@link BootSimulator} playing the bootloader between
 * "reboots". Only the hardware is simulated: every byte still goes through TUF/Uptane
 * verification, every decision through the server's rollout state machine.
 *
 * A simulated device's application health check fails when its booted image says
 * `health=crash`, so a bad release is rolled back by the agent exactly as a crashing
 * application would be on a real device.
 *
 * Used by the simulation test (spec/fleet-simulation) and `npm run demo:fleet`. Not for devices.
 *
 * @module
 */
import { setMaxListeners } from 'node:events';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentConfig, parseAgentConfig } from '../agent/config.js';
import { runFleetDaemon } from '../agent/fleet-commands.js';
import { InMemorySigner } from '../crypto/index.js';
import type { HealthCheck } from '../device/health-checks.js';
import type { JournalTarget } from '../device/journal.js';
import { BootSimulator, imageStartsWith } from '../device/slots/boot-simulator.js';
import { FileSlotController } from '../device/slots/file-slot.js';
import { InvalidStateError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import { resolveFleetConfig } from '../server/fleet/config.js';
import { initFleetServer } from '../server/fleet/init.js';
import { openConfiguredStore } from '../server/fleet/open-store.js';
import { type FleetServer, startFleetServer } from '../server/fleet/server.js';
import { FsJournalStore } from '../storage/fs-journal-store.js';
import { FsRepositoryStorage } from '../storage/fs-repository-storage.js';

/** The magic every bootable simulated image starts with. */
export const SIMULATED_IMAGE_MAGIC = 'TUFOTA-SIMULATED-IMAGE\n';

/** Bytes of each simulated image (a slot holds one plus slack). */
const IMAGE_BYTES = 16 * 1024;

/** The releases of the simulated image repository (target paths). */
export const SIMULATION_RELEASES = Object.freeze({
  /** What gw-200 devices run from the factory. */
  factory: 'gw-200/fw-1.0.img',
  /** A good release for gw-200. */
  good: 'gw-200/fw-2.0.img',
  /** A release whose application crashes at start (its health check fails). */
  bad: 'gw-200/fw-2.1.img',
  /** What the older gw-100 board runs; no newer release exists for it. */
  legacy: 'gw-100/fw-1.0.img',
});

/** A simulated image: the magic, what it is, whether its application starts, padding. */
export function simulatedImage(release: string, health: 'ok' | 'crash'): Uint8Array {
  const header = `${SIMULATED_IMAGE_MAGIC}release=${release}\nhealth=${health}\n`;
  const out = new Uint8Array(IMAGE_BYTES);
  out.set(new TextEncoder().encode(header));
  // Deterministic filler, so two releases never share a hash and a torn write shows.
  for (let i = header.length; i < out.length; i += 1) out[i] = (i * 31 + release.length) & 0xff;
  return out;
}

/** One simulated device. */
export interface SimulatedDevice {
  deviceId: string;
  hardwareId: 'gw-200' | 'gw-100';
  site: string;
  dir: string;
  /** Boots so far (the first power-on included). */
  boots: number;
  /** The slot that came up at the last boot. */
  booted: 'A' | 'B';
  /**
   * What the device's user answers when an update needs consent (`updateControl: consent`):
   * every second lab device declines, every other device agrees.
   */
  consents: boolean;
  /** How often the device was asked for consent. */
  consentAsked: number;
}

/** How the fleet is made. */
export interface FleetSimulationOptions {
  /** A fresh directory for the server, the repository and every device. */
  dir: string;
  /** Devices in all (default 200): 45 % at site oslo, 35 % at bergen (1 in 7 a gw-100), 20 % lab. */
  devices?: number;
  /** The agents' poll interval in seconds (default 1; jitter 1 s). */
  pollSeconds?: number;
  /** How often the rollout engine steps running deployments (default 250 ms). */
  rolloutIntervalMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** An admin API answer. */
export interface AdminAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the admin API, checked by callers
  json: any;
}

interface DeviceRun {
  device: SimulatedDevice;
  config: AgentConfig;
  slots: { A: string; B: string; env: string; cmdline: string };
  /** The daemon loop of the device (resolves when the device is stopped). */
  life?: Promise<void>;
}

/** Split `n` devices into sites and boards (see {@link FleetSimulationOptions.devices}). */
function layout(n: number): { site: string; hardwareId: 'gw-200' | 'gw-100'; consents: boolean }[] {
  const oslo = Math.round(n * 0.45);
  const bergen = Math.round(n * 0.35);
  const out: { site: string; hardwareId: 'gw-200' | 'gw-100'; consents: boolean }[] = [];
  for (let i = 0; i < n; i += 1) {
    if (i < oslo) out.push({ site: 'oslo', hardwareId: 'gw-200', consents: true });
    else if (i < oslo + bergen) {
      const hardwareId = (i - oslo) % 7 === 6 ? 'gw-100' : 'gw-200';
      out.push({ site: 'bergen', hardwareId, consents: true });
    } else {
      out.push({ site: 'lab', hardwareId: 'gw-200', consents: (i - oslo - bergen) % 2 === 0 });
    }
  }
  return out;
}

/** A simulated fleet: create with {@link FleetSimulation.create}, then {@link start}. */
export class FleetSimulation {
  readonly server: FleetServer;
  readonly adminToken: string;
  readonly #runs: DeviceRun[] = [];
  readonly #log: (line: string) => void;
  readonly #stop = new AbortController();
  /** Daemon events by name (`checked`, `error`, …), for the summary. */
  readonly events = new Map<string, number>();
  /** The last errors the daemons logged (bounded), for failure messages. */
  readonly errors: string[] = [];

  private constructor(server: FleetServer, adminToken: string, log: (line: string) => void) {
    this.server = server;
    this.adminToken = adminToken;
    this.#log = log;
  }

  /** Every device, in the order they were made. */
  get devices(): readonly SimulatedDevice[] {
    return this.#runs.map((r) => r.device);
  }

  /**
   * Build the image repository (four releases), initialize and start the server, and make every
   * device: slots, ECU key pre-authorized through the admin API (`device-key` provisioning), the
   * agent configuration with both factory roots. No device runs yet.
   */
  static async create(options: FleetSimulationOptions): Promise<FleetSimulation> {
    const log = options.log ?? (() => {});
    const n = options.devices ?? 200;
    if (!Number.isSafeInteger(n) || n < 1 || n > 2000) {
      throw new InvalidStateError(`devices must be 1 … 2000, got ${n}`);
    }
    const dir = path.resolve(options.dir);
    await fs.mkdir(dir, { recursive: true });

    const repoDir = path.join(dir, 'repo');
    const key = await InMemorySigner.generate('ed25519');
    const one = { keys: [key] };
    const repo = await Repository.create(await FsRepositoryStorage.open(repoDir), {
      roles: { root: one, targets: one, snapshot: one, timestamp: one },
      signers: [key],
    });
    const factoryTargets = new Map<string, JournalTarget>();
    const releases: [string, 'gw-200' | 'gw-100', number, 'ok' | 'crash'][] = [
      [SIMULATION_RELEASES.factory, 'gw-200', 1, 'ok'],
      [SIMULATION_RELEASES.good, 'gw-200', 2, 'ok'],
      [SIMULATION_RELEASES.bad, 'gw-200', 3, 'crash'],
      [SIMULATION_RELEASES.legacy, 'gw-100', 1, 'ok'],
    ];
    for (const [target, hardwareId, releaseCounter, health] of releases) {
      const version = `${target.replace(/^.*fw-(.*)\.img$/, '$1')}.0`;
      const entry = await repo.addTarget(target, simulatedImage(target, health), {
        hardwareIds: [hardwareId],
        releaseCounter,
        version,
      });
      factoryTargets.set(target, {
        path: target,
        length: entry.length,
        hashes: { ...entry.hashes },
        version,
        releaseCounter,
      });
    }
    await repo.publish();
    log(`image repository: ${releases.length} releases in ${repoDir}`);

    const raw = {
      host: '127.0.0.1',
      port: 0,
      dataDir: 'data',
      repository: { dir: 'repo' },
      provisioning: { modes: ['device-key'] },
      logLevel: 'silent',
    };
    const configFile = path.join(dir, 'fleet.json');
    await fs.writeFile(configFile, JSON.stringify(raw, null, 2));
    const config = resolveFleetConfig(raw, configFile, {});
    const init = await initFleetServer({
      config,
      openStore: () => openConfiguredStore(config),
      env: {},
      admin: { userId: 'admin', name: 'Simulation admin' },
      tokenDays: 1,
    });
    const store = await openConfiguredStore(config);
    await store.migrate();
    const server = await startFleetServer({
      config,
      store,
      env: {},
      logger: false,
      rolloutIntervalMs: options.rolloutIntervalMs ?? 250,
    });
    log(`fleet server: ${server.url} (SQLite in ${config.dataDir})`);

    const directorRoot = path.join(dir, 'director-root.json');
    const rootBytes = server.context.director.root(1);
    if (rootBytes === undefined) throw new InvalidStateError('the director has no root');
    await fs.writeFile(directorRoot, rootBytes);
    const imageRoot = path.join(repoDir, 'metadata', '1.root.json');

    const sim = new FleetSimulation(server, init.token, log);
    const pollSeconds = options.pollSeconds ?? 1;
    const plan = layout(n);
    for (let i = 0; i < n; i += 1) {
      const { site, hardwareId, consents } = plan[i] as (typeof plan)[number];
      const deviceId = `sim-${String(i + 1).padStart(4, '0')}`;
      const run = await sim.#makeDevice(dir, deviceId, site, hardwareId, consents, {
        directorRoot,
        imageRoot,
        pollSeconds,
        factoryTargets,
      });
      sim.#runs.push(run);
    }
    log(`${n} devices made and pre-authorized (device-key provisioning)`);
    return sim;
  }

  async #makeDevice(
    root: string,
    deviceId: string,
    site: string,
    hardwareId: 'gw-200' | 'gw-100',
    consents: boolean,
    shared: {
      directorRoot: string;
      imageRoot: string;
      pollSeconds: number;
      factoryTargets: Map<string, JournalTarget>;
    },
  ): Promise<DeviceRun> {
    const dir = path.join(root, 'devices', deviceId);
    const stateDir = path.join(dir, 'state');
    await fs.mkdir(stateDir, { recursive: true });
    const slots = {
      A: path.join(dir, 'slot-a.img'),
      B: path.join(dir, 'slot-b.img'),
      env: path.join(dir, 'env.json'),
      cmdline: path.join(dir, 'cmdline'),
    };
    const factory =
      hardwareId === 'gw-200' ? SIMULATION_RELEASES.factory : SIMULATION_RELEASES.legacy;
    await fs.writeFile(slots.A, simulatedImage(factory, 'ok'));
    await fs.writeFile(slots.B, new Uint8Array(IMAGE_BYTES * 2));
    await FileSlotController.initEnv({ envPath: slots.env, bootSlot: 'A' });
    await fs.writeFile(slots.cmdline, `console=ttyS0 root=${slots.A} ro\n`);

    // The factory records what it flashed into slot A, as a device build would: the agent
    // reports it in its manifests and never installs anything older (the floors).
    const flashed = shared.factoryTargets.get(factory) as JournalTarget;
    const journal = await FsJournalStore.create(stateDir);
    await journal.writeInstalled({
      slot: 'A',
      target: flashed,
      slotImages: { A: flashed },
      floors: { releaseCounter: flashed.releaseCounter as number },
      updatedAt: new Date().toISOString(),
    });

    // The factory: an ECU key, pre-authorized with the device's model and site.
    const signer = await InMemorySigner.generate('ed25519');
    const ecuKey = path.join(stateDir, 'ecu-key.pem');
    await fs.writeFile(ecuKey, signer.exportPrivateKeyPem(), { mode: 0o600 });
    const model = hardwareId;
    const answer = await this.admin('POST', 'devices', {
      deviceId,
      publicKey: signer.publicKey,
      model,
      attributes: { site },
    });
    if (answer.status !== 201 && answer.status !== 200) {
      throw new InvalidStateError(
        `pre-authorizing ${deviceId} failed: ${answer.status} ${JSON.stringify(answer.json)}`,
      );
    }
    const config = parseAgentConfig({
      hardwareId,
      stateDir,
      slots: {
        type: 'file',
        devices: { A: slots.A, B: slots.B },
        envPath: slots.env,
        cmdlinePath: slots.cmdline,
      },
      rebootCommand: ['true'],
      poll: { intervalSeconds: shared.pollSeconds, jitterSeconds: 1, maxBackoffSeconds: 5 },
      fleet: {
        url: this.server.url,
        deviceId,
        ecuSerial: `${deviceId}-main`,
        ecuKey,
        directorRoot: shared.directorRoot,
        imageRoot: shared.imageRoot,
        provisioning: { mode: 'device-key' },
        model,
        attributes: { site },
      },
    });
    return {
      device: {
        deviceId,
        hardwareId,
        site,
        dir,
        boots: 0,
        booted: 'A',
        consents,
        consentAsked: 0,
      },
      config,
      slots,
    };
  }

  /** Call the admin API as the simulation's admin (`path` below `/api/admin/v1/`). */
  async admin(method: string, apiPath: string, body?: unknown): Promise<AdminAnswer> {
    const res = await fetch(`${this.server.url}/api/admin/v1/${apiPath}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  /** Power on every device: each runs the agent daemon until {@link close}. */
  start(): void {
    // Every daemon waits on the one stop signal: that many listeners are expected, not a leak.
    setMaxListeners(this.#runs.length * 4 + 10, this.#stop.signal);
    for (const run of this.#runs) run.life = this.#live(run);
  }

  /** The application check of a simulated device: its booted image must not crash. */
  #applicationCheck(run: DeviceRun): HealthCheck {
    return {
      name: 'application',
      when: 'always',
      run: async () => {
        const image = run.device.booted === 'A' ? run.slots.A : run.slots.B;
        const head = Buffer.alloc(256);
        const handle = await fs.open(image, 'r');
        try {
          await handle.read(head, 0, head.length, 0);
        } finally {
          await handle.close();
        }
        if (head.toString('latin1').includes('\nhealth=crash\n')) {
          throw new Error('the application exited with signal SIGSEGV right after start');
        }
      },
    };
  }

  /** One device's life: boot, run the daemon until it hands over to a reboot, repeat. */
  async #live(run: DeviceRun): Promise<void> {
    const signal = this.#stop.signal;
    for (let life = 0; life < 100 && !signal.aborted; life += 1) {
      await this.#boot(run);
      let rebootRequested = false;
      const code = await runFleetDaemon(
        run.config,
        (event, fields) => this.#record(run, event, fields),
        signal,
        {
          reboot: async () => {
            rebootRequested = true;
          },
          healthChecks: [this.#applicationCheck(run)],
          consent: async () => {
            run.device.consentAsked += 1;
            return run.device.consents;
          },
        },
      ).catch((error: Error) => {
        this.#record(run, 'crashed', { message: error.message });
        return 1;
      });
      if (signal.aborted) return;
      if (!rebootRequested) {
        // The daemon stopped without a reboot (it failed to start): power-cycle after a pause.
        this.#record(run, 'restart', { code });
        await sleep(1000, undefined, { signal }).catch(() => {});
      }
    }
  }

  /** The bootloader's turn: power on, pick a slot, fall back when its image does not boot. */
  async #boot(run: DeviceRun): Promise<void> {
    const slots = await FileSlotController.create({
      envPath: run.slots.env,
      slotDevices: { A: run.slots.A, B: run.slots.B },
      evidence: { cmdlinePath: run.slots.cmdline, mountInfoPath: null },
    });
    const boot = await new BootSimulator(slots, {
      isBootable: imageStartsWith(SIMULATED_IMAGE_MAGIC),
    }).simulateBoot();
    run.device.boots += 1;
    run.device.booted = boot.booted;
  }

  #record(run: DeviceRun, event: string, fields: Record<string, unknown> = {}): void {
    this.events.set(event, (this.events.get(event) ?? 0) + 1);
    if (event === 'error' || event === 'crashed' || event === 'restart') {
      this.errors.push(`${run.device.deviceId} ${event} ${JSON.stringify(fields)}`);
      if (this.errors.length > 50) this.errors.shift();
    }
  }

  /**
   * Poll `check` every `everyMs` until it returns a value other than `undefined`, for at most
   * `timeoutMs` (then `InvalidStateError` with `what` and the last daemon errors).
   */
  async waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    options: { timeoutMs?: number; everyMs?: number; progress?: (elapsedMs: number) => void } = {},
  ): Promise<T> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? 300_000;
    let lastProgress = started;
    while (Date.now() - started < timeoutMs) {
      const value = await check();
      if (value !== undefined) return value;
      if (options.progress !== undefined && Date.now() - lastProgress >= 2000) {
        lastProgress = Date.now();
        options.progress(lastProgress - started);
      }
      await sleep(options.everyMs ?? 250);
    }
    throw new InvalidStateError(
      `the simulation did not reach "${what}" within ${timeoutMs} ms; last device errors: ${this.errors.slice(-5).join('; ') || 'none'}`,
    );
  }

  /** Stop every device and the server. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#runs.map((r) => r.life));
    await this.server.close();
    this.#log('simulation stopped');
  }
}
