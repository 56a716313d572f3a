/**
 * Full verification (Uptane Standard 2.1.0 §5.4.4.2), in the standard's order:
 *
 * 1. the reference time (from a `TrustedClock`, read once by the caller);
 * 2–5. director root → timestamp → snapshot (stop if unchanged) → targets, then the director
 *    checks of §5.4.4.6 steps 6–8 (no delegations, no ECU twice, every ECU in this vehicle) and
 *    the device id;
 * 6. nothing assigned to the ECUs checked → stop (the image repository is not consulted);
 * 7–9. image repository root → timestamp → snapshot → targets;
 * 10. for every director assignment (the primary: all of them; a secondary: its own), the image
 *    repository entry found through delegations (10.1) agrees on length, hashes and the
 *    SHALL-match custom fields (10.2.1–10.2.2), and the release counter is not below the
 *    previous one (10.2.3). The TAP 4 repository map is consulted for each path.
 *
 * The same code runs on the primary (reading over HTTP) and on full-verification secondaries
 * (reading the files the primary forwarded): only the {@link MetadataReader}s differ.
 *
 * Does no I/O itself. Safe for concurrent use (no shared state).
 *
 * @module
 */
import { FormatError, InvalidStateError, UptaneAttack, UptaneError } from '../../errors.js';
import { Metadata, type TargetFile } from '../../models/index.js';
import {
  type DirectorTargetsExpectations,
  type EcuAssignment,
  readDirectorTargets,
  type UpdateControl,
} from './director-targets.js';
import { checkImagesAgree } from './image-checks.js';
import {
  type ChainLimits,
  DEFAULT_CHAIN_LIMITS,
  findImageTarget,
  type LoadedRepository,
  loadRepositoryChain,
  type MetadataReader,
  type TrustedRepositoryState,
} from './repository-chain.js';
import { mappingFor, type RepositoryMap } from './repository-map.js';

/** One repository as the verifier sees it: where to read, what is trusted already. */
export interface RepositoryInput {
  reader: MetadataReader;
  trusted: TrustedRepositoryState;
}

/** Input of {@link verifyFull}. */
export interface FullVerificationInput extends DirectorTargetsExpectations {
  director: RepositoryInput;
  image: RepositoryInput;
  /** Step 1: the trusted time (a `TrustedClock` reading). */
  referenceTime: Date;
  /** Check only this ECU's assignment (a secondary); default every assignment (the primary). */
  onlyEcu?: string;
  /** The TAP 4 map; default: every path needs the director and the image repository. */
  repositoryMap?: RepositoryMap;
  /** Release counters the ECUs already run (from their installed state), by serial. */
  installedReleaseCounters?: ReadonlyMap<string, number>;
  limits?: ChainLimits;
}

/** An assignment both repositories vouch for. */
export interface VerifiedImage {
  assignment: EcuAssignment;
  /** The image repository's entry (its `custom` carries `hardwareIds`, `releaseCounter`, …). */
  imageTarget: TargetFile;
}

/** Result of {@link verifyFull}. */
export interface FullVerificationResult {
  deviceId: string;
  correlationId: string | undefined;
  /** The verified director targets' `custom.updateControl` (`forced` when absent). */
  updateControl: UpdateControl;
  /** The verified director targets' version (a re-issued assignment has a newer one). */
  directorTargetsVersion: number;
  /** Every checked assignment, verified. Empty when the director assigns nothing. */
  images: VerifiedImage[];
  /** Verified director bytes to persist. */
  director: TrustedRepositoryState;
  /** Verified image repository bytes to persist (absent when step 6 stopped). */
  image: TrustedRepositoryState | undefined;
  /** §5.4.4.2 step 4: the director timestamp was the trusted one. */
  directorUnchanged: boolean;
  /** Every file read from each repository (to forward to full-verification secondaries). */
  files: { director: Map<string, Uint8Array>; image: Map<string, Uint8Array> };
}

/** Release counters of the previous trusted director targets, by ECU serial. */
function previousCounters(trustedTargets: Uint8Array | undefined): Map<string, number> {
  const counters = new Map<string, number>();
  if (trustedTargets === undefined) return counters;
  // These bytes verified in an earlier cycle; they only raise floors here.
  let metadata: Metadata;
  try {
    metadata = Metadata.fromBytes(trustedTargets, 'targets');
  } catch (error) {
    if (error instanceof FormatError) return counters;
    throw error;
  }
  if (metadata.signed.type !== 'targets') return counters;
  for (const target of Object.values(metadata.signed.targets)) {
    const ids = target.custom?.ecuIdentifiers;
    const counter = target.releaseCounter;
    if (typeof ids !== 'object' || ids === null || counter === undefined) continue;
    for (const serial of Object.keys(ids)) counters.set(serial, counter);
  }
  return counters;
}

/**
 * Run full verification.
 *
 * @throws UptaneError naming the attack; NotFoundError / DownloadError when a file cannot be
 *   read; InvalidStateError when `onlyEcu` is not among `ecus`.
 */
export async function verifyFull(input: FullVerificationInput): Promise<FullVerificationResult> {
  const limits = input.limits ?? DEFAULT_CHAIN_LIMITS;
  if (input.onlyEcu !== undefined && !input.ecus.has(input.onlyEcu)) {
    throw new InvalidStateError(`onlyEcu ${input.onlyEcu} is not among the ECUs given`);
  }
  const floors = previousCounters(input.director.trusted.targets);
  // Steps 2–5.
  const director = await loadRepositoryChain(
    'director',
    input.director.reader,
    input.director.trusted,
    input.referenceTime,
    limits,
  );
  const targets = director.set.targets?.signed;
  if (targets === undefined) throw new InvalidStateError('director targets not loaded');
  // §5.4.4.6 steps 6–8 and the device id.
  const info = readDirectorTargets(targets, input);
  const assignments = info.assignments.filter(
    (a) => input.onlyEcu === undefined || a.ecuSerial === input.onlyEcu,
  );
  const result: FullVerificationResult = {
    deviceId: info.deviceId,
    correlationId: info.correlationId,
    updateControl: info.updateControl,
    directorTargetsVersion: targets.version,
    images: [],
    director: director.state,
    image: undefined,
    directorUnchanged: director.unchanged,
    files: { director: director.files, image: new Map() },
  };
  // Step 6: nothing to install → stop before the image repository.
  if (assignments.length === 0) return result;
  // Steps 7–9.
  const image: LoadedRepository = await loadRepositoryChain(
    'image',
    input.image.reader,
    input.image.trusted,
    input.referenceTime,
    limits,
  );
  result.image = image.state;
  result.files.image = image.files;
  // Step 10, for each assignment.
  for (const assignment of assignments) {
    const path = assignment.target.path;
    if (input.repositoryMap !== undefined && mappingFor(input.repositoryMap, path) === undefined) {
      throw new UptaneError(
        UptaneAttack.imageNotInImageRepository,
        `no mapping of the repository map covers ${path}, so no repository may vouch for it`,
        { ecuSerial: assignment.ecuSerial },
      );
    }
    const imageTarget = await findImageTarget(
      image,
      input.image.reader,
      path,
      assignment.hardwareId,
      limits,
    );
    const installed = input.installedReleaseCounters?.get(assignment.ecuSerial);
    const previous = floors.get(assignment.ecuSerial);
    const floor =
      installed === undefined
        ? previous
        : previous === undefined
          ? installed
          : Math.max(installed, previous);
    checkImagesAgree(assignment, imageTarget, floor);
    result.images.push({ assignment, imageTarget: imageTarget as TargetFile });
  }
  return result;
}
