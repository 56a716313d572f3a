/**
 * `Secondary`: an Uptane secondary ECU (Standard 2.1.0 §5.4.3, "Installing images on Primary or
 * Secondary ECUs"). It receives metadata and its image from the primary (through a
 * `SecondaryTransport`), verifies them itself — the primary is not trusted — and installs through
 * its own `SlotController`:
 *
 * 1. §5.4.3.1: the trusted time (`TrustedClock`; a clock behind its floor is refused and
 *    reported);
 * 2. §5.4.3.2: full verification (§5.4.4.2, the same code as the primary, checking its own
 *    assignment) or partial verification (§5.4.4.1: director roots and targets only);
 * 3. §5.4.3.4: image checks — an entry for its serial, its hardware id, a release counter not
 *    lower than the installed one, and every hash and the exact length of the image bytes;
 * 4. §5.4.3.5: install through its `UpdateAgent` (which verifies the bytes again as it writes);
 * 5. §5.4.3.6: its signed version report, carrying any attack detected in `attacks_detected`.
 *
 * Metadata is persisted only after it verified (§5.4.2: "Each Secondary SHALL store the latest
 * copy of all metadata required for its own verification"). Calls are serialized.
 *
 * @module
 */
import { InvalidStateError } from '../../errors.js';
import { TargetFile } from '../../models/index.js';
import { Ecu, type EcuOptions } from '../ecu/ecu.js';
import type {
  SecondaryInfo,
  SecondaryUpdateResult,
  UpdateBundle,
  VerificationMode,
} from '../transport/secondary-transport.js';
import type { EcuAssignment } from '../verify/director-targets.js';
import { verifyFull } from '../verify/full-verification.js';
import { verifyImageBytes } from '../verify/image-checks.js';
import { verifyPartial } from '../verify/partial-verification.js';
import type { MetadataReader } from '../verify/repository-chain.js';

/** Options of {@link Secondary.create}. */
export interface SecondaryOptions extends EcuOptions {
  verification: VerificationMode;
}

/** A reader over the files the primary forwarded. */
export function bundleReader(files: Record<string, Uint8Array>): MetadataReader {
  return async (fileName, maxLength) => {
    if (!Object.hasOwn(files, fileName)) return undefined;
    const bytes = files[fileName] as Uint8Array;
    // The same cap a download would have: the primary is not trusted either.
    return bytes.byteLength > maxLength ? bytes.subarray(0, maxLength) : bytes;
  };
}

/**
 * A secondary ECU.
 *
 * @example
 * ```ts
 * const secondary = await Secondary.create({ deviceId: 'vin-1', ecuSerial: 'brake-1', hardwareId: 'brake',
 *   signer, store, clock, verification: 'partial', agent: { slots, stateDir, reboot } });
 * await secondary.ecu.provision({ director: directorRoot });
 * const transport = new InProcessSecondaryTransport(secondary);
 * ```
 */
export class Secondary {
  readonly ecu: Ecu;
  readonly verification: VerificationMode;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(ecu: Ecu, verification: VerificationMode) {
    this.ecu = ecu;
    this.verification = verification;
  }

  static async create(options: SecondaryOptions): Promise<Secondary> {
    if (options.verification !== 'full' && options.verification !== 'partial') {
      throw new InvalidStateError('verification must be "full" or "partial"');
    }
    return new Secondary(await Ecu.create(options), options.verification);
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  info(): SecondaryInfo {
    return {
      ecuSerial: this.ecu.ecuSerial,
      hardwareId: this.ecu.hardwareId,
      verification: this.verification,
    };
  }

  /**
   * Verify a bundle from the primary and install this ECU's image.
   *
   * @throws UptaneError naming the attack (also recorded for the next version report).
   */
  update(bundle: UpdateBundle): Promise<SecondaryUpdateResult> {
    return this.#serialize(async () => {
      try {
        return await this.#update(bundle);
      } catch (error) {
        await this.ecu.recordAttack(error);
        throw error;
      }
    });
  }

  async #update(bundle: UpdateBundle): Promise<SecondaryUpdateResult> {
    const ecu = this.ecu;
    // §5.4.3.1.
    const referenceTime = await ecu.clock.now();
    const installedReleaseCounter = await ecu.installedReleaseCounter();
    let assignment: EcuAssignment | undefined;
    let agentTarget: TargetFile | undefined;
    if (this.verification === 'full') {
      // §5.4.3.2 with §5.4.4.2, checking only this ECU's image (step 10 allows it).
      const result = await verifyFull({
        deviceId: ecu.deviceId,
        ecus: new Map([[ecu.ecuSerial, ecu.hardwareId]]),
        allEcusKnown: false,
        onlyEcu: ecu.ecuSerial,
        director: {
          reader: bundleReader(bundle.director),
          trusted: await ecu.requireTrusted('director'),
        },
        image: { reader: bundleReader(bundle.image), trusted: await ecu.requireTrusted('image') },
        referenceTime,
        ...(installedReleaseCounter !== undefined
          ? { installedReleaseCounters: new Map([[ecu.ecuSerial, installedReleaseCounter]]) }
          : {}),
      });
      await ecu.saveTrusted('director', result.director);
      if (result.image !== undefined) await ecu.saveTrusted('image', result.image);
      const own = result.images[0];
      assignment = own?.assignment;
      agentTarget = own?.imageTarget;
    } else {
      // §5.4.3.2 with §5.4.4.1.
      const trusted = await ecu.requireTrusted('director');
      const newRoots: Uint8Array[] = [];
      let version = rootVersion(trusted.root) + 1;
      while (Object.hasOwn(bundle.director, `${version}.root.json`)) {
        newRoots.push(bundle.director[`${version}.root.json`] as Uint8Array);
        version++;
      }
      const targets = bundle.director['targets.json'];
      if (targets === undefined || !Object.hasOwn(bundle.director, 'targets.json')) {
        throw new InvalidStateError('the primary sent no director targets.json');
      }
      const result = verifyPartial({
        deviceId: ecu.deviceId,
        ecu: { ecuSerial: ecu.ecuSerial, hardwareId: ecu.hardwareId },
        trustedRoot: trusted.root,
        newRoots,
        targets,
        ...(trusted.targets !== undefined ? { previousTargets: trusted.targets } : {}),
        ...(installedReleaseCounter !== undefined ? { installedReleaseCounter } : {}),
        referenceTime,
      });
      await ecu.saveTrusted('director', { root: result.root, targets: result.targets });
      assignment = result.assignment;
      if (assignment !== undefined) {
        // The director's entry, with the hardware id it verified for this ECU: the agent's
        // policy then checks the same facts again.
        const t = assignment.target;
        agentTarget = new TargetFile(
          t.path,
          t.length,
          { ...t.hashes },
          {
            ...t.custom,
            hardwareIds: [assignment.hardwareId],
            ...(assignment.releaseCounter !== undefined
              ? { releaseCounter: assignment.releaseCounter }
              : {}),
          },
        );
      }
    }
    if (assignment === undefined || agentTarget === undefined) return { outcome: 'no-update' };
    const installed = await ecu.installedImage();
    if (installed !== undefined && installed.filepath === assignment.target.path) {
      const same = Object.entries(assignment.target.hashes).every(
        ([alg, hex]) => installed.hashes[alg] === hex,
      );
      if (same) return { outcome: 'no-update', targetPath: assignment.target.path };
    }
    // §5.4.3.4 step 7 and the length: before any byte reaches a slot.
    const bytes = bundle.imageBytes;
    if (bytes === undefined) {
      throw new InvalidStateError(`the primary sent no image for ${assignment.target.path}`);
    }
    verifyImageBytes(assignment, bytes);
    // §5.4.3.5.
    const install = await ecu.install(agentTarget, bytes);
    return { outcome: 'installing', targetPath: assignment.target.path, install };
  }

  /** The next signed version report (§5.4.3.6). */
  versionReport(): Promise<Record<string, unknown>> {
    return this.#serialize(() => this.ecu.versionReport());
  }
}

function rootVersion(bytes: Uint8Array): number {
  const value = JSON.parse(new TextDecoder().decode(bytes)) as { signed?: { version?: unknown } };
  const version = value.signed?.version;
  if (!Number.isSafeInteger(version))
    throw new InvalidStateError('the trusted root has no version');
  return version as number;
}
