/**
 * What every Uptane ECU — primary or secondary — keeps and does around verification: its
 * identity (serial, hardware id, ed25519 key), the verified metadata of each repository between
 * update cycles, the attacks detected since its last version report, the report counter, its
 * `TrustedClock`, and an `UpdateAgent` over its own `SlotController` that writes verified images
 * (Uptane Standard 2.1.0 §5.4.3: verify image → install image → create version report).
 *
 * Persistence goes through a {@link MetadataStore} (an `FsMetadataStore` on a device): the
 * verified bytes of each repository (`director-root`, `director-timestamp`, …, `image-root`, …)
 * `ecu-state` (report counter, pending attacks) and, on a primary, `ecu-consent` (the update
 * the integrator last consented to) and `ecu-attempt` (the assignment last started) — each key written atomically.
 *
 * Calls on one instance must not overlap (the primary and secondary classes serialize them).
 *
 * @module
 */
import type { MetadataStore } from '../../client/metadata-store.js';
import type { Signer } from '../../crypto/index.js';
import {
  type InstallResult,
  type ResumeResult,
  type TargetSource,
  UpdateAgent,
  type UpdateAgentOptions,
} from '../../device/agent.js';
import type { ImageStream } from '../../device/install.js';
import { InvalidStateError, StorageError, UptaneError } from '../../errors.js';
import type { TargetFile } from '../../models/index.js';
import type { TrustedClock } from '../time/trusted-clock.js';
import { ecuVersionReportToJSON, type InstalledImage, signEnvelope } from '../verify/manifest.js';
import type { TrustedRepositoryState } from '../verify/repository-chain.js';

/** The agent options an ECU passes through (the ECU supplies the image source and hardware id). */
export type EcuAgentOptions = Omit<UpdateAgentOptions, 'updater' | 'hardwareId'>;

/** Options shared by primaries and secondaries. */
export interface EcuOptions {
  /** The vehicle this ECU belongs to (the director's `custom.deviceId`). */
  deviceId: string;
  ecuSerial: string;
  hardwareId: string;
  /** The ECU key: signs version reports (and the primary's vehicle manifest). */
  signer: Signer;
  /** Verified metadata and ECU state. */
  store: MetadataStore;
  clock: TrustedClock;
  /** The update agent's options, without `updater` and `hardwareId`. */
  agent: EcuAgentOptions;
}

/** Which repository a stored state belongs to. */
export type RepositoryKey = 'director' | 'image';

const ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;

/** The one verified image the agent may install next; nothing else. */
class VerifiedImageSource implements TargetSource {
  #target: TargetFile | undefined;
  #bytes: Uint8Array | undefined;

  set(target: TargetFile, bytes: Uint8Array): void {
    this.#target = target;
    this.#bytes = bytes;
  }

  async refresh(): Promise<void> {}

  async getTargetInfo(targetPath: string): Promise<TargetFile | undefined> {
    return this.#target?.path === targetPath ? this.#target : undefined;
  }

  async openTarget(info: TargetFile, options: { offset?: number }): Promise<ImageStream> {
    const bytes = this.#bytes;
    if (bytes === undefined || this.#target?.path !== info.path) {
      throw new InvalidStateError(`no verified image ${info.path} to install`);
    }
    const data: Uint8Array = bytes;
    const offset = Math.min(options.offset ?? 0, data.byteLength);
    const chunk = 256 * 1024;
    let cancelled = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let at = offset; at < data.byteLength && !cancelled; at += chunk) {
        yield data.subarray(at, Math.min(at + chunk, data.byteLength));
      }
    }
    return {
      offset,
      stream: Object.assign(body(), {
        cancel: () => {
          cancelled = true;
        },
      }),
    };
  }
}

interface PersistedState {
  reportCounter: number;
  attacks: string[];
}

/** The state and actions common to every ECU. */
export class Ecu {
  readonly deviceId: string;
  readonly ecuSerial: string;
  readonly hardwareId: string;
  readonly clock: TrustedClock;
  readonly agent: UpdateAgent;
  readonly #signer: Signer;
  readonly #store: MetadataStore;
  readonly #source: VerifiedImageSource;

  private constructor(options: EcuOptions, agent: UpdateAgent, source: VerifiedImageSource) {
    this.deviceId = options.deviceId;
    this.ecuSerial = options.ecuSerial;
    this.hardwareId = options.hardwareId;
    this.clock = options.clock;
    this.#signer = options.signer;
    this.#store = options.store;
    this.agent = agent;
    this.#source = source;
  }

  /** Build the ECU and its agent (no I/O beyond the agent's state directory). */
  static async create(options: EcuOptions): Promise<Ecu> {
    const source = new VerifiedImageSource();
    const agent = await UpdateAgent.create({
      ...options.agent,
      updater: source,
      hardwareId: options.hardwareId,
    });
    return new Ecu(options, agent, source);
  }

  /**
   * Provision the trust anchors (factory): each repository's root, unless one is stored already
   * (a later root was verified since; the factory one must not replace it).
   */
  async provision(roots: Partial<Record<RepositoryKey, Uint8Array>>): Promise<void> {
    for (const [repo, bytes] of Object.entries(roots) as [RepositoryKey, Uint8Array][]) {
      if ((await this.#store.load(`${repo}-root`)) === undefined) {
        await this.#store.save(`${repo}-root`, bytes);
      }
    }
  }

  /** The verified state of a repository; `undefined` when it was never provisioned. */
  async trusted(repo: RepositoryKey): Promise<TrustedRepositoryState | undefined> {
    const root = await this.#store.load(`${repo}-root`);
    if (root === undefined) return undefined;
    const state: TrustedRepositoryState = { root };
    for (const role of ROLES.slice(1)) {
      const bytes = await this.#store.load(`${repo}-${role}`);
      if (bytes !== undefined) state[role as 'timestamp'] = bytes;
    }
    return state;
  }

  /** Like {@link trusted}, but an unprovisioned repository is an error. */
  async requireTrusted(repo: RepositoryKey): Promise<TrustedRepositoryState> {
    const state = await this.trusted(repo);
    if (state === undefined) {
      throw new InvalidStateError(
        `ECU ${this.ecuSerial} has no trusted ${repo} root: provision it first`,
      );
    }
    return state;
  }

  /** Persist verified bytes (root first: it is the anchor the rest is checked against). */
  async saveTrusted(repo: RepositoryKey, state: TrustedRepositoryState): Promise<void> {
    for (const role of ROLES) {
      const bytes = state[role];
      if (bytes !== undefined) await this.#store.save(`${repo}-${role}`, bytes);
      else if (role !== 'root') await this.#store.remove(`${repo}-${role}`);
    }
  }

  async #state(): Promise<PersistedState> {
    const bytes = await this.#store.load('ecu-state');
    if (bytes === undefined) return { reportCounter: 0, attacks: [] };
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes)) as PersistedState;
      if (!Number.isSafeInteger(value.reportCounter) || !Array.isArray(value.attacks)) {
        throw new Error('wrong shape');
      }
      return value;
    } catch (error) {
      throw new StorageError(`ECU ${this.ecuSerial}: the stored ecu-state is corrupt`, {
        cause: error,
      });
    }
  }

  async #saveState(state: PersistedState): Promise<void> {
    await this.#store.save('ecu-state', new TextEncoder().encode(JSON.stringify(state)));
  }

  /**
   * Remember the attack an error names, for the next version report (§5.4.2.1.2: "an indicator
   * of any detected security attack"). Errors that name no attack are not recorded.
   */
  async recordAttack(error: unknown): Promise<void> {
    if (!(error instanceof UptaneError)) return;
    const state = await this.#state();
    if (!state.attacks.includes(error.attack)) state.attacks.push(error.attack);
    await this.#saveState(state);
  }

  /** Attacks detected since the last version report. */
  async pendingAttacks(): Promise<string[]> {
    return (await this.#state()).attacks;
  }

  /**
   * The update the integrator last consented to (the primary's fingerprint of correlation id and
   * images), so that a consented update is not asked about again after a reboot.
   */
  async consentedUpdate(): Promise<string | undefined> {
    const bytes = await this.#store.load('ecu-consent');
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  /** Remember the integrator's consent to the update `fingerprint` names. */
  async recordConsent(fingerprint: string): Promise<void> {
    await this.#store.save('ecu-consent', new TextEncoder().encode(fingerprint));
  }

  /**
   * The assignment the primary last started installing for itself: its fingerprint (correlation
   * id, image path and hashes, and the version of the director targets that ordered it), so that
   * an image the device rolled back is not installed again for the same signed order.
   */
  async attemptedUpdate(): Promise<string | undefined> {
    const bytes = await this.#store.load('ecu-attempt');
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  /** Remember the assignment `fingerprint` names as started (before the install begins). */
  async recordAttempt(fingerprint: string): Promise<void> {
    await this.#store.save('ecu-attempt', new TextEncoder().encode(fingerprint));
  }

  /** The release counter floor of the installed image (the agent's anti-rollback floor). */
  async installedReleaseCounter(): Promise<number | undefined> {
    return (await this.agent.state()).installed?.floors.releaseCounter;
  }

  /** The image the agent committed, as a version report names it. */
  async installedImage(): Promise<InstalledImage | undefined> {
    const target = (await this.agent.state()).installed?.target;
    return target === undefined
      ? undefined
      : { filepath: target.path, length: target.length, hashes: { ...target.hashes } };
  }

  /** Hand a verified image to the agent (§5.4.3.5): it writes, re-verifies and activates. */
  async install(target: TargetFile, bytes: Uint8Array): Promise<InstallResult> {
    this.#source.set(target, bytes);
    return this.agent.checkAndInstall(target.path);
  }

  /** After a reboot: let the agent conclude (commit after health checks, or roll back). */
  resume(): Promise<ResumeResult> {
    return this.agent.resume();
  }

  /**
   * A signed ECU version report (§5.4.3.6, format §5.4.2.1.2). The counter grows by one per
   * report and is persisted before the report is returned; the pending attacks go into it and
   * are cleared.
   */
  async versionReport(): Promise<Record<string, unknown>> {
    let time: Date;
    const state = await this.#state();
    try {
      time = await this.clock.now();
    } catch (error) {
      // A clock behind the floor is itself reported; the floor is the best time we have.
      if (!(error instanceof UptaneError)) throw error;
      if (!state.attacks.includes(error.attack)) state.attacks.push(error.attack);
      time = (await this.clock.floor()) ?? new Date(0);
    }
    const next: PersistedState = { reportCounter: state.reportCounter + 1, attacks: [] };
    const signed = ecuVersionReportToJSON({
      ecuSerial: this.ecuSerial,
      installedImage: await this.installedImage(),
      attacksDetected: state.attacks,
      reportCounter: next.reportCounter,
      time,
    });
    const envelope = await signEnvelope(signed, this.#signer);
    await this.#saveState(next);
    return envelope;
  }

  /** Close the agent's resources. */
  close(): Promise<void> {
    return this.agent.close();
  }
}
