/**
 * Reading the director's per-device `targets.json` (Uptane Standard 2.1.0 §5.2.3 and the
 * director checks of §5.4.4.6, steps 6–8) into one assignment per ECU.
 *
 * Format (field names as in the aktualizr / ota-tuf ecosystem):
 *
 * ```json
 * { "_type": "targets", …,
 *   "custom": { "deviceId": "vin-123", "correlationId": "campaign-7" },
 *   "targets": { "brake/2.0.0.img": { "length": 1024, "hashes": { "sha256": "…" },
 *       "custom": { "ecuIdentifiers": { "ecu-brake-1": { "hardwareId": "brake-ctl" } },
 *                   "releaseCounter": 2, "uri": "https://…" } } } }
 * ```
 *
 * `custom.deviceId` is required even when `targets` is empty: without it, an empty (or any)
 * targets file signed for one device could be replayed to another.
 *
 * `custom.updateControl: "consent"` (absent: forced) says the device must ask its integrator
 * before installing the assignment (a deployment's `updateControl`). Being inside the signed
 * targets, it is read only after the director's signatures verified; a value this code does not
 * know is read as `consent`, the cautious choice.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { FormatError, UptaneAttack, UptaneError } from '../../errors.js';
import type { TargetFile, Targets } from '../../models/index.js';

/** What the director orders one ECU to install. */
export interface EcuAssignment {
  ecuSerial: string;
  /** The hardware id the director believes the ECU has. */
  hardwareId: string;
  /** The director's entry: path (same as in the image repository), length, hashes, custom. */
  target: TargetFile;
  /** `custom.releaseCounter` of the director's entry, if any. */
  releaseCounter: number | undefined;
  /** `custom.uri`: where to download the image, if not from the image repository. */
  uri: string | undefined;
}

/**
 * Whether the device installs an assignment at once (`forced`) or asks its integrator first
 * (`consent`).
 */
export type UpdateControl = 'forced' | 'consent';

/** The director's targets for one device, checked. */
export interface DirectorTargetsInfo {
  deviceId: string;
  correlationId: string | undefined;
  /** `custom.updateControl`: `forced` when absent. */
  updateControl: UpdateControl;
  assignments: EcuAssignment[];
}

/** What the ECU checking the director's targets knows. */
export interface DirectorTargetsExpectations {
  /** This device's id: targets for any other device are a replay. */
  deviceId: string;
  /**
   * The ECUs present in this vehicle (serial → hardware id). The primary passes all of them
   * (§5.4.4.6 step 8); a secondary may pass only itself, and then entries for other ECUs are
   * skipped rather than refused.
   */
  ecus: ReadonlyMap<string, string>;
  /** True for the primary: an ECU not in {@link ecus} is an attack, not someone else's entry. */
  allEcusKnown: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The top-level `custom` object of the director's targets (kept as an unrecognized field). */
export function directorCustomOf(targets: Targets): Record<string, unknown> | undefined {
  const custom = targets.unrecognized.custom;
  return isRecord(custom) ? custom : undefined;
}

/**
 * Check the director's verified targets and list the assignments.
 *
 * @throws UptaneError `director-delegation`, `replay-for-another-device`, `ecu-listed-twice`,
 *   `unknown-ecu`, `hardware-id-mismatch`.
 * @throws FormatError for a malformed `custom`.
 */
export function readDirectorTargets(
  targets: Targets,
  expect: DirectorTargetsExpectations,
): DirectorTargetsInfo {
  // §5.4.4.6 step 6: the director's targets must not delegate.
  if (targets.delegations !== undefined) {
    throw new UptaneError(
      UptaneAttack.directorDelegation,
      'the director targets metadata has delegations; Uptane forbids them',
      { role: 'targets' },
    );
  }
  const custom = directorCustomOf(targets);
  const deviceId = custom?.deviceId;
  if (typeof deviceId !== 'string' || deviceId === '') {
    throw new UptaneError(
      UptaneAttack.wrongDevice,
      `the director targets metadata names no device (custom.deviceId), so it could be anyone's; this is ${expect.deviceId}`,
      { role: 'targets' },
    );
  }
  if (deviceId !== expect.deviceId) {
    throw new UptaneError(
      UptaneAttack.wrongDevice,
      `the director targets metadata is for device ${deviceId}, this is ${expect.deviceId}`,
      { role: 'targets' },
    );
  }
  const correlationId = custom?.correlationId;
  // Anything but absent or "forced" asks first: a director newer than this device may mean more.
  const control = custom?.updateControl;
  const updateControl: UpdateControl =
    control === undefined || control === 'forced' ? 'forced' : 'consent';
  const assignments: EcuAssignment[] = [];
  const seen = new Set<string>();
  for (const target of Object.values(targets.targets)) {
    const ids = target.custom?.ecuIdentifiers;
    if (!isRecord(ids) || Object.keys(ids).length === 0) {
      throw new FormatError(`director target ${target.path} has no custom.ecuIdentifiers`, {
        path: `signed.targets.${target.path}.custom.ecuIdentifiers`,
      });
    }
    for (const [ecuSerial, entry] of Object.entries(ids)) {
      const hardwareId = isRecord(entry) ? entry.hardwareId : undefined;
      if (typeof hardwareId !== 'string' || hardwareId === '') {
        throw new FormatError(
          `director target ${target.path}: ecuIdentifiers.${ecuSerial}.hardwareId must be a non-empty string`,
        );
      }
      // §5.4.4.6 step 7: no ECU identifier represented more than once.
      if (seen.has(ecuSerial)) {
        throw new UptaneError(
          UptaneAttack.duplicateEcu,
          `the director targets metadata lists ECU ${ecuSerial} more than once`,
          { role: 'targets', ecuSerial },
        );
      }
      seen.add(ecuSerial);
      const known = expect.ecus.get(ecuSerial);
      if (known === undefined) {
        // §5.4.4.6 step 8: on the primary, every listed ECU must be in this vehicle.
        if (expect.allEcusKnown) {
          throw new UptaneError(
            UptaneAttack.unknownEcu,
            `the director targets metadata lists ECU ${ecuSerial}, which is not in device ${expect.deviceId}`,
            { role: 'targets', ecuSerial },
          );
        }
        continue;
      }
      if (known !== hardwareId) {
        throw new UptaneError(
          UptaneAttack.hardwareMismatch,
          `the director assigns ${target.path} to ECU ${ecuSerial} as hardware ${hardwareId}, but that ECU is ${known}`,
          { role: 'targets', ecuSerial },
        );
      }
      const counter = target.custom?.releaseCounter;
      if (counter !== undefined && (!Number.isSafeInteger(counter) || (counter as number) < 0)) {
        throw new FormatError(
          `director target ${target.path}: releaseCounter must be an integer >= 0`,
        );
      }
      const uri = target.custom?.uri;
      assignments.push({
        ecuSerial,
        hardwareId,
        target,
        releaseCounter: counter as number | undefined,
        uri: typeof uri === 'string' ? uri : undefined,
      });
    }
  }
  return {
    deviceId,
    correlationId: typeof correlationId === 'string' ? correlationId : undefined,
    updateControl,
    assignments,
  };
}
