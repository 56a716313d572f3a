/**
 * `Primary`: the Uptane primary ECU (Standard 2.1.0 §5.4.2, "What the Primary does"). One update
 * cycle:
 *
 * 1. §5.4.2.3: the trusted time (`TrustedClock`);
 * 2. §5.4.2.4: full verification (§5.4.4.2, `verifyFull`) of both repositories for every ECU of
 *    the vehicle — its own and each secondary's (their serials and hardware ids come from the
 *    transports) — consulting the TAP 4 repository map;
 *    then, when the verified director targets say `custom.updateControl: "consent"`, the
 *    integrator's {@link PrimaryOptions.consent} is asked before anything is downloaded; without
 *    a yes every assigned ECU's outcome is `deferred` (nothing is sent to the secondaries) and
 *    the next cycle asks again. A yes is remembered (`ecu-consent`) for exactly that correlation
 *    id and those images, so the cycles after a reboot do not ask again. While deferring, the
 *    director's verified state is persisted (its correlation id is the update's) but the image
 *    repository's is not (it is read again when the update goes ahead), and director files read
 *    meanwhile are kept in memory for the secondaries; not done: a director root rotated while
 *    deferring *and* a primary restart before the update goes ahead leave full/partial
 *    secondaries without the intermediate root (they refuse until the next rotation is sent);
 * 3. §5.4.2.5: download every assigned image and check its length and every hash;
 * 4. §5.4.2.7–§5.4.2.8: send each secondary the metadata files it needs (all that were read: a
 *    full-verification secondary needs both repositories) and its image; the secondary verifies
 *    them itself;
 * 5. its own image last (the agent reboots into it);
 * 6. §5.4.2.1: the vehicle version manifest — every ECU's signed version report, signed by the
 *    primary — built by {@link Primary.manifest} and sent by {@link Primary.report}.
 *
 * Any refusal that names an attack is recorded for the ECU that detected it and goes into its
 * next version report. Verified metadata is persisted only after verification succeeded.
 *
 * Images are held in memory between download and install (fine for the megabyte images of most
 * ECUs; a streaming path to disk is not implemented). Calls are serialized.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { InvalidStateError, PolicyError, TufError } from '../../errors.js';
import type { TargetFile } from '../../models/index.js';
import { Ecu, type EcuOptions } from '../ecu/ecu.js';
import type {
  SecondaryInfo,
  SecondaryTransport,
  UpdateBundle,
} from '../transport/secondary-transport.js';
import { type FullVerificationResult, verifyFull } from '../verify/full-verification.js';
import { verifyImageBytes } from '../verify/image-checks.js';
import { signEnvelope, vehicleManifestToJSON } from '../verify/manifest.js';
import type { ChainLimits, MetadataReader } from '../verify/repository-chain.js';
import type { RepositoryMap } from '../verify/repository-map.js';

const debug = debuglog('tufota');

/** One image an update would install, as {@link ConsentRequest} lists it. */
export interface ConsentImage {
  ecuSerial: string;
  /** The image's target path (the image repository's name for it). */
  targetPath: string;
  /** Its length in bytes (what will be downloaded). */
  length: number;
}

/** What the integrator's {@link ConsentCallback} is asked. */
export interface ConsentRequest {
  /** The director's correlation id of the update (the fleet server's deployment id). */
  correlationId: string;
  deviceId: string;
  /** Every image the update would install now, one per ECU (already installed ones omitted). */
  images: ConsentImage[];
}

/**
 * Asks the device's integrator (a driver's prompt, a fleet policy, a "parked and charging" check)
 * whether an update marked `updateControl: consent` may be installed now. Resolve `true` to
 * install; `false` — or a rejection — defers the update to a later cycle, which asks again.
 * Called only after the director's metadata verified, at most once per cycle. It should not
 * take long: the cycle waits for it (bound it, as the agent's `fleet.consentCommand` does).
 */
export type ConsentCallback = (request: ConsentRequest) => Promise<boolean>;

/** Options of {@link Primary.create}. */
export interface PrimaryOptions extends EcuOptions {
  /** Reads director metadata for this device (`httpMetadataReader` over the map's URL). */
  directorReader: MetadataReader;
  /** Reads image repository metadata. */
  imageReader: MetadataReader;
  /** Downloads an image the image repository lists (capped at its length). */
  fetchImage: (target: TargetFile) => Promise<Uint8Array>;
  secondaries?: readonly SecondaryTransport[];
  /** Delivers the signed vehicle version manifest to the director. */
  sendManifest?: (bytes: Uint8Array) => Promise<void>;
  /** The TAP 4 map (default: every path needs both repositories). */
  repositoryMap?: RepositoryMap;
  /**
   * Asked before installing an update whose verified director targets carry
   * `updateControl: "consent"`. Absent: such updates are deferred (never installed) — consent
   * cannot be given by nobody. Forced updates never ask.
   */
  consent?: ConsentCallback;
  limits?: ChainLimits;
}

/** What identifies one signed order to install `target` (see `Primary.#alreadyRejected`). */
function attemptFingerprint(
  correlationId: string | undefined,
  target: TargetFile,
  directorTargetsVersion: number,
): string {
  const hashes = Object.entries(target.hashes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([a, h]) => `${a}:${h}`)
    .join(',');
  return JSON.stringify([
    correlationId ?? '',
    target.path,
    target.length,
    hashes,
    directorTargetsVersion,
  ]);
}

/**
 * What happened to one ECU in a cycle. `deferred`: an update needs the integrator's consent
 * (`updateControl: consent`) and did not get it; nothing was downloaded or installed.
 */
export interface EcuCycleResult {
  ecuSerial: string;
  outcome: 'no-update' | 'installing' | 'failed' | 'deferred';
  targetPath?: string;
  /** Why it failed (an `UptaneError` names the attack). */
  error?: unknown;
}

/** Result of {@link Primary.updateCycle}. */
export interface UpdateCycleResult {
  correlationId: string | undefined;
  directorUnchanged: boolean;
  ecus: EcuCycleResult[];
}

/**
 * The primary ECU.
 *
 * @example
 * ```ts
 * const primary = await Primary.create({ deviceId: 'vin-1', ecuSerial: 'gw-1', hardwareId: 'gateway',
 *   signer, store, clock, agent: { slots, stateDir }, directorReader, imageReader, fetchImage,
 *   secondaries: [new HttpSecondaryTransport('http://10.0.0.7:9000')], sendManifest });
 * await primary.ecu.provision({ director: directorRoot, image: imageRoot });
 * await primary.resume();          // on every start
 * await primary.updateCycle();     // verifies, distributes, installs (reboots into its own image)
 * await primary.report();          // the vehicle version manifest to the director
 * ```
 */
export class Primary {
  readonly ecu: Ecu;
  readonly #options: PrimaryOptions;
  #queue: Promise<unknown> = Promise.resolve();
  #installationReport: Record<string, unknown> | undefined;
  /** Director files read in deferred cycles of this process, not yet forwarded. */
  #deferredDirectorFiles: Record<string, Uint8Array> = {};

  private constructor(ecu: Ecu, options: PrimaryOptions) {
    this.ecu = ecu;
    this.#options = options;
  }

  static async create(options: PrimaryOptions): Promise<Primary> {
    return new Primary(await Ecu.create(options), options);
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** After a reboot: conclude the primary's own install (see `UpdateAgent.resume`). */
  resume() {
    return this.#serialize(() => this.ecu.resume());
  }

  /**
   * Run one update cycle.
   *
   * @throws UptaneError naming the attack when the metadata is refused (recorded for the next
   *   manifest); DownloadError when a repository cannot be reached.
   */
  updateCycle(): Promise<UpdateCycleResult> {
    return this.#serialize(async () => {
      try {
        return await this.#cycle();
      } catch (error) {
        await this.ecu.recordAttack(error);
        throw error;
      }
    });
  }

  async #cycle(): Promise<UpdateCycleResult> {
    const ecu = this.ecu;
    const options = this.#options;
    const secondaries = options.secondaries ?? [];
    // Step 1 (§5.4.4.2 step 1).
    const referenceTime = await ecu.clock.now();
    const infos = await Promise.all(secondaries.map((s) => s.info()));
    const ecus = new Map<string, string>([[ecu.ecuSerial, ecu.hardwareId]]);
    for (const info of infos) {
      if (ecus.has(info.ecuSerial)) {
        throw new InvalidStateError(`two ECUs of this vehicle claim serial ${info.ecuSerial}`);
      }
      ecus.set(info.ecuSerial, info.hardwareId);
    }
    const installed = await ecu.installedReleaseCounter();
    // Step 2: full verification for every ECU.
    const result = await verifyFull({
      deviceId: ecu.deviceId,
      ecus,
      allEcusKnown: true,
      director: { reader: options.directorReader, trusted: await ecu.requireTrusted('director') },
      image: { reader: options.imageReader, trusted: await ecu.requireTrusted('image') },
      referenceTime,
      ...(options.repositoryMap !== undefined ? { repositoryMap: options.repositoryMap } : {}),
      ...(installed !== undefined
        ? { installedReleaseCounters: new Map([[ecu.ecuSerial, installed]]) }
        : {}),
      ...(options.limits !== undefined ? { limits: options.limits } : {}),
    });
    await ecu.saveTrusted('director', result.director);
    const files = {
      // Director files read while deferring (new roots among them) still have to reach the
      // secondaries, which got nothing then; what was read now wins.
      director: { ...this.#deferredDirectorFiles, ...Object.fromEntries(result.files.director) },
      image: Object.fromEntries(result.files.image),
    };
    // A partial-verification secondary reads the director's `targets.json` every time, even
    // when nothing changed and the primary read no new targets (step 4 stopped it).
    for (const role of ['snapshot', 'targets'] as const) {
      const bytes = result.director[role];
      if (bytes !== undefined && !Object.hasOwn(files.director, `${role}.json`)) {
        files.director[`${role}.json`] = bytes;
      }
    }
    const own = result.images.find((v) => v.assignment.ecuSerial === ecu.ecuSerial);
    const current = own === undefined ? undefined : await ecu.installedImage();
    const ownInstalled =
      own !== undefined &&
      current !== undefined &&
      current.filepath === own.imageTarget.path &&
      Object.entries(own.imageTarget.hashes).every(([a, h]) => current.hashes[a] === h);
    const outcomes: EcuCycleResult[] = [];
    if (
      result.updateControl === 'consent' &&
      !(await this.#consented(result, infos, ownInstalled))
    ) {
      // Deferred: no download, nothing sent to a secondary (a bundle naming an image without
      // its bytes would read as a failure there). The image repository's new state is not
      // persisted, so the cycle that goes ahead reads it again — snapshot, targets and
      // delegated roles — and forwards all of it to full-verification secondaries.
      this.#deferredDirectorFiles = files.director;
      for (const serial of [...infos.map((i) => i.ecuSerial), ecu.ecuSerial]) {
        const verified = result.images.find((v) => v.assignment.ecuSerial === serial);
        const path = verified?.imageTarget.path;
        const nothingToDo = verified === undefined || (serial === ecu.ecuSerial && ownInstalled);
        outcomes.push({
          ecuSerial: serial,
          outcome: nothingToDo ? 'no-update' : 'deferred',
          ...(path !== undefined ? { targetPath: path } : {}),
        });
      }
    } else {
      if (result.image !== undefined) await ecu.saveTrusted('image', result.image);
      this.#deferredDirectorFiles = {};
      await this.#distribute(result, infos, files, outcomes);
      // Step 5: the primary's own image, last.
      if (own === undefined) {
        outcomes.push({ ecuSerial: ecu.ecuSerial, outcome: 'no-update' });
      } else if (ownInstalled) {
        outcomes.push({
          ecuSerial: ecu.ecuSerial,
          outcome: 'no-update',
          targetPath: own.imageTarget.path,
        });
      } else {
        const target = own.imageTarget;
        const attempt = attemptFingerprint(
          result.correlationId,
          target,
          result.directorTargetsVersion,
        );
        const refusal = await this.#alreadyRejected(attempt, target);
        if (refusal !== undefined) {
          outcomes.push({
            ecuSerial: ecu.ecuSerial,
            outcome: 'failed',
            targetPath: target.path,
            error: refusal,
          });
        } else {
          const bytes = await options.fetchImage(target);
          verifyImageBytes(own.assignment, bytes);
          outcomes.push({
            ecuSerial: ecu.ecuSerial,
            outcome: 'installing',
            targetPath: target.path,
          });
          await ecu.recordAttempt(attempt);
          await ecu.install(target, bytes);
        }
      }
    }
    this.#installationReport = {
      correlation_id: result.correlationId ?? '',
      items: outcomes.map((o) => ({
        ecu_serial: o.ecuSerial,
        outcome: o.outcome,
        ...(o.error instanceof TufError ? { error_code: o.error.code } : {}),
      })),
    };
    return {
      correlationId: result.correlationId,
      directorUnchanged: result.directorUnchanged,
      ecus: outcomes,
    };
  }

  /**
   * Why the primary's own image must not be installed again: this very signed order (same
   * correlation id, image and director targets version) was installed before and the agent
   * rolled it back or failed it. Without this a device whose release fails its health checks
   * would install, reboot and roll back in a loop — wearing the flash — for as long as the
   * director keeps the assignment. A new order (the server clears and re-issues the assignment
   * to retry, which re-signs the targets) is installed again.
   */
  async #alreadyRejected(attempt: string, target: TargetFile): Promise<TufError | undefined> {
    if ((await this.ecu.attemptedUpdate()) !== attempt) return undefined;
    const journal = (await this.ecu.agent.state()).journal;
    if (journal === undefined || journal.target.path !== target.path) return undefined;
    if (journal.phase !== 'rolledBack' && journal.phase !== 'failed') return undefined;
    return new PolicyError(
      `${target.path} was ${journal.phase === 'rolledBack' ? 'rolled back' : 'refused'} on this device under this assignment${journal.error !== undefined ? ` (${journal.error.message})` : ''}; it is not installed again until the director issues a new assignment`,
    );
  }

  /**
   * Whether a `consent` update may go ahead: nothing left to install, consent remembered for
   * this very update, or the integrator says yes now (remembered). A callback that rejects is
   * a no (logged with `NODE_DEBUG=tufota`).
   */
  async #consented(
    result: FullVerificationResult,
    infos: readonly SecondaryInfo[],
    ownInstalled: boolean,
  ): Promise<boolean> {
    const ecu = this.ecu;
    const correlationId = result.correlationId ?? '';
    // Secondaries are asked nothing here (their version reports are consumed when read), so a
    // secondary's assignment counts as pending until consent for this update is remembered.
    const serials = new Set(infos.map((i) => i.ecuSerial));
    const pending = result.images.filter((v) =>
      v.assignment.ecuSerial === ecu.ecuSerial
        ? !ownInstalled
        : serials.has(v.assignment.ecuSerial),
    );
    if (pending.length === 0) return true;
    const fingerprint = JSON.stringify({
      correlationId,
      images: result.images
        .map((v) => [v.assignment.ecuSerial, v.imageTarget.path, v.imageTarget.hashes])
        .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    });
    if ((await ecu.consentedUpdate()) === fingerprint) return true;
    const ask = this.#options.consent;
    if (ask === undefined) return false;
    let yes: boolean;
    try {
      yes =
        (await ask({
          correlationId,
          deviceId: ecu.deviceId,
          images: pending.map((v) => ({
            ecuSerial: v.assignment.ecuSerial,
            targetPath: v.imageTarget.path,
            length: v.imageTarget.length,
          })),
        })) === true;
    } catch (error) {
      debug('primary: the consent callback failed, deferring: %s', (error as Error)?.message);
      yes = false;
    }
    if (yes) await ecu.recordConsent(fingerprint);
    return yes;
  }

  /** Steps 3–4: each secondary's image, verified here, then by the secondary. */
  async #distribute(
    result: FullVerificationResult,
    infos: readonly SecondaryInfo[],
    files: UpdateBundle,
    outcomes: EcuCycleResult[],
  ): Promise<void> {
    const options = this.#options;
    for (const [i, transport] of (options.secondaries ?? []).entries()) {
      const serial = (infos[i] as SecondaryInfo).ecuSerial;
      const verified = result.images.find((v) => v.assignment.ecuSerial === serial);
      const bundle: UpdateBundle = { director: files.director, image: files.image };
      try {
        if (verified !== undefined) {
          const bytes = await options.fetchImage(verified.imageTarget);
          verifyImageBytes(verified.assignment, bytes);
          bundle.imageBytes = bytes;
        }
        const done = await transport.update(bundle);
        outcomes.push({
          ecuSerial: serial,
          outcome: done.outcome,
          ...(done.targetPath !== undefined ? { targetPath: done.targetPath } : {}),
        });
      } catch (error) {
        if (!(error instanceof TufError)) throw error;
        // The secondary records what it refused; an image refused here is the primary's finding.
        if (verified !== undefined && bundle.imageBytes === undefined)
          await this.ecu.recordAttack(error);
        outcomes.push({ ecuSerial: serial, outcome: 'failed', error });
      }
    }
  }

  /**
   * The signed vehicle version manifest (§5.4.2.1.1): every ECU's fresh version report (its own
   * and each secondary's), signed by the primary's key.
   */
  manifest(): Promise<Uint8Array> {
    return this.#serialize(async () => {
      const reports: Record<string, Record<string, unknown>> = {
        [this.ecu.ecuSerial]: await this.ecu.versionReport(),
      };
      for (const transport of this.#options.secondaries ?? []) {
        const info = await transport.info();
        reports[info.ecuSerial] = await transport.versionReport();
      }
      const signed = vehicleManifestToJSON({
        deviceId: this.ecu.deviceId,
        primaryEcuSerial: this.ecu.ecuSerial,
        ecuVersionManifests: reports,
        ...(this.#installationReport !== undefined
          ? { installationReport: this.#installationReport }
          : {}),
      });
      const envelope = await signEnvelope(signed, this.#options.signer);
      return new TextEncoder().encode(JSON.stringify(envelope));
    });
  }

  /** Build the manifest and send it to the director (`sendManifest`). */
  async report(): Promise<Uint8Array> {
    const send = this.#options.sendManifest;
    if (send === undefined) throw new InvalidStateError('no sendManifest was configured');
    const bytes = await this.manifest();
    await send(bytes);
    return bytes;
  }
}
