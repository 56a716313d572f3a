/**
 * The composition root of `tufota-agent`'s fleet mode: from the `fleet` config section to an
 * Uptane {@link Primary} whose own image goes through the agent's A/B slot machinery (the ECU's
 * `UpdateAgent`), reading the fleet server's `/director/<deviceId>/` and `/repo/` through a
 * {@link FleetClient}, reporting phases and log tails with a {@link FleetReporter}, and adding the
 * "the fleet server answers `GET /health`" trial check (unless `fleet.healthCheck` is false), so
 * a release that cannot reach the server any more is rolled back.
 *
 * Also here: the ECU key file (ed25519 PKCS#8 PEM, created with mode 0600 and written atomically
 * on first start when absent) and the provisioned roots (copied into the metadata store once;
 * a later verified root is never replaced by the factory one). No trust logic lives here.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InMemorySigner } from '../crypto/index.js';
import type { HealthCheck, UpdateAgent } from '../device/index.js';
import type { SlotController } from '../device/slot-controller.js';
import { KeyFileError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { FsMetadataStore } from '../storage/fs-metadata-store.js';
import { type ConsentCallback, Primary } from '../uptane/primary/primary.js';
import { FileClockFloorStore } from '../uptane/time/file-clock-floor-store.js';
import { TrustedClock } from '../uptane/time/trusted-clock.js';
import { HttpSecondaryTransport } from '../uptane/transport/http-secondary.js';
import type { AgentConfig, FleetConfig } from './config.js';
import { FleetClient, type FleetProvisioning, type RegistrationStatus } from './fleet-client.js';
import { consentByCommand } from './fleet-consent.js';
import { FleetReporter } from './fleet-reporter.js';
import { healthCheckOf, openSlots, rebootWith } from './wiring.js';

/** Name of the fleet server reachability check in health-check results. */
export const FLEET_HEALTH_CHECK_NAME = 'fleet server (GET /health)';

/**
 * The ECU key: read `file`, or create an ed25519 key there (mode 0600, atomically) when absent.
 *
 * @throws KeyFileError when the file exists but is not an unencrypted ed25519 private key.
 */
export async function loadOrCreateEcuKey(file: string): Promise<InMemorySigner> {
  let pem: string | undefined;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KeyFileError(
        `config fleet.ecuKey: cannot read ${file}: ${(error as Error).message}`,
      );
    }
  }
  if (pem !== undefined) {
    let signer: InMemorySigner;
    try {
      signer = InMemorySigner.fromPem(pem);
    } catch (error) {
      throw new KeyFileError(
        `config fleet.ecuKey: ${file} is not a usable private key (${(error as Error).message}); remove it to have a new one generated, and re-provision the device`,
      );
    }
    if (signer.publicKey.keytype !== 'ed25519') {
      throw new KeyFileError(
        `config fleet.ecuKey: ${file} holds a ${signer.publicKey.keytype} key; the fleet protocol signs challenges with ed25519`,
      );
    }
    return signer;
  }
  const signer = await InMemorySigner.generate('ed25519');
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, signer.exportPrivateKeyPem(), { mode: 0o600 });
  return signer;
}

/** The public half of the ECU key, if the key file exists (for `status`; never creates it). */
export async function ecuPublicKey(
  file: string,
): Promise<{ keyid: string; publicKey: unknown } | undefined> {
  try {
    const signer = InMemorySigner.fromPem(await fs.readFile(file, 'utf8'));
    return { keyid: signer.keyid, publicKey: signer.publicKey };
  } catch {
    return undefined;
  }
}

async function readConfigFile(file: string, field: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    throw new UsageError(`config ${field}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** The fleet client of the configuration (TLS files and the shared secret read). */
export async function openFleetClient(
  fleet: FleetConfig,
  signer: InMemorySigner,
): Promise<FleetClient> {
  const p = fleet.provisioning;
  let provisioning: FleetProvisioning;
  const tls: { ca?: string; cert?: string; key?: string } = {};
  if (fleet.ca !== undefined) tls.ca = (await readConfigFile(fleet.ca, 'fleet.ca')).toString();
  if (p.mode === 'mtls') {
    tls.cert = (await readConfigFile(p.cert, 'fleet.provisioning.cert')).toString();
    tls.key = (await readConfigFile(p.key, 'fleet.provisioning.key')).toString();
    provisioning = { mode: 'mtls' };
  } else if (p.mode === 'shared-key') {
    const secret = await readConfigFile(p.secretFile, 'fleet.provisioning.secretFile');
    if (secret.byteLength === 0) {
      throw new UsageError(`config fleet.provisioning.secretFile: ${p.secretFile} is empty`);
    }
    provisioning = { mode: 'shared-key', secret: new Uint8Array(secret) };
  } else {
    provisioning = { mode: p.mode };
  }
  return new FleetClient({
    url: fleet.url,
    deviceId: fleet.deviceId,
    signer,
    provisioning,
    tls,
    timeoutMs: fleet.timeoutMs,
  });
}

/** The trial check "the fleet server still answers", over the device's own TLS settings. */
export function fleetHealthCheck(client: FleetClient): HealthCheck {
  return {
    name: FLEET_HEALTH_CHECK_NAME,
    when: 'trial',
    run: (signal) => client.health(signal),
  };
}

/** The correlation id in the verified director targets stored in `store`. */
export async function storedCorrelationId(store: FsMetadataStore): Promise<string | undefined> {
  const bytes = await store.load('director-targets');
  if (bytes === undefined) return undefined;
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as {
      signed?: { custom?: { correlationId?: unknown } };
    };
    const id = value.signed?.custom?.correlationId;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The fleet-mode agent, and what to close after it. */
export interface FleetSession {
  primary: Primary;
  client: FleetClient;
  reporter: FleetReporter;
  agent: UpdateAgent;
  slots: SlotController;
  store: FsMetadataStore;
  fleet: FleetConfig;
  reboot(): Promise<void>;
  /** Register (idempotent: the server records model, ECUs and attributes each time). */
  register(): Promise<RegistrationStatus>;
  close(): Promise<void>;
}

/**
 * What an embedding program (a simulator, an integrator's own daemon) may give the session
 * beside the configuration: code instead of the configuration's commands.
 */
export interface FleetSessionHooks {
  /** Called instead of `rebootCommand` when the agent hands over to the new slot. */
  reboot?: () => Promise<void>;
  /** Checks added to the configured ones (e.g. "the application answers"). */
  healthChecks?: HealthCheck[];
  /** Asked instead of `fleet.consentCommand` before an update that needs consent. */
  consent?: ConsentCallback;
}

/**
 * Open the fleet-mode primary (taking the state-directory lock: `ERR_TUF_LOCKED` if another
 * agent holds it). No network I/O happens here.
 */
export async function openFleetSession(
  config: AgentConfig,
  purpose: string,
  hooks: FleetSessionHooks = {},
): Promise<FleetSession> {
  const fleet = config.fleet;
  if (fleet === undefined) throw new UsageError('the configuration has no fleet section');
  const signer = await loadOrCreateEcuKey(fleet.ecuKey);
  const directorRoot = await readConfigFile(fleet.directorRoot, 'fleet.directorRoot');
  const imageRoot = await readConfigFile(fleet.imageRoot, 'fleet.imageRoot');
  const slots = await openSlots(config);
  await fs.mkdir(config.metadataDir, { recursive: true, mode: 0o755 });
  const store = new FsMetadataStore(config.metadataDir);
  const client = await openFleetClient(fleet, signer);
  const reporter = new FleetReporter({
    sink: client,
    correlationId: () => storedCorrelationId(store),
  });
  const reboot = hooks.reboot ?? rebootWith(config.rebootCommand);
  const secondaries = fleet.secondaries.map((url) => new HttpSecondaryTransport(url));
  let primary: Primary;
  try {
    primary = await Primary.create({
      deviceId: fleet.deviceId,
      ecuSerial: fleet.ecuSerial,
      hardwareId: config.hardwareId,
      signer,
      store,
      clock: new TrustedClock({
        store: new FileClockFloorStore(path.join(config.stateDir, 'clock-floor.json')),
      }),
      agent: {
        slots,
        stateDir: config.stateDir,
        lockPurpose: purpose,
        healthChecks: [
          ...config.healthChecks.map(healthCheckOf),
          ...(hooks.healthChecks ?? []),
          ...(fleet.healthCheck ? [fleetHealthCheck(client)] : []),
        ],
        ...(config.healthCheckTimeoutMs !== undefined
          ? { healthCheckTimeoutMs: config.healthCheckTimeoutMs }
          : {}),
        tries: config.tries,
        reboot,
        reporter,
        ...(config.tuning !== undefined ? { tuning: config.tuning } : {}),
      },
      directorReader: client.directorReader(),
      imageReader: client.imageReader(),
      fetchImage: (target) => client.fetchImage(target),
      secondaries,
      sendManifest: (bytes) => client.sendManifest(bytes),
      // Deployments with updateControl "consent" ask fleet.consentCommand (none: deferred).
      ...(hooks.consent !== undefined
        ? { consent: hooks.consent }
        : fleet.consentCommand !== undefined
          ? { consent: consentByCommand(fleet.consentCommand, fleet.consentTimeoutMs) }
          : {}),
    });
    await primary.ecu.provision({
      director: new Uint8Array(directorRoot),
      image: new Uint8Array(imageRoot),
    });
  } catch (error) {
    await client.close();
    throw error;
  }
  const register = async () => {
    const installed = await primary.ecu.installedImage();
    const ecus = [
      {
        ecuSerial: fleet.ecuSerial,
        hardwareId: config.hardwareId,
        primary: true,
        publicKey: signer.publicKey,
        ...(installed !== undefined ? { installedTarget: installed.filepath } : {}),
      },
    ];
    return client.register({
      ...(fleet.model !== undefined ? { model: fleet.model } : {}),
      ...(fleet.hardwareRevision !== undefined ? { hardwareRevision: fleet.hardwareRevision } : {}),
      ...(fleet.attributes !== undefined ? { attributes: fleet.attributes } : {}),
      ecus,
    });
  };
  return {
    primary,
    client,
    reporter,
    agent: primary.ecu.agent,
    slots,
    store,
    fleet,
    reboot,
    register,
    close: async () => {
      try {
        await primary.ecu.close();
      } finally {
        await client.close();
      }
    },
  };
}
