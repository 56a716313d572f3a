/**
 * The contract every boot-environment protocol implements ({@link EnvProfile}), and the variable
 * rules the profiles share: which names and values we are willing to write, how counters and
 * slot mappings are validated. The protocols themselves are in `mender-profile.ts`,
 * `rauc-uboot-profile.ts` and `rauc-grub-profile.ts` (re-exported by `env-profiles.ts`).
 *
 * Each profile describes both sides of the protocol:
 * - the OS side ({@link EnvProfile.status} and the changes each controller verb writes), used by
 *   the controllers in this folder;
 * - the bootloader side ({@link EnvProfile.bootStep}: what U-Boot's bootcount/altbootcmd logic or
 *   RAUC's boot scripts do at power-on), used by the `BootSimulator` to run whole update cycles in
 *   tests.
 *
 * A verb returns the variables to write, in order (for RAUC-style: tries first, order last); the
 * controller drops those that already hold the wanted value, so repeating a verb writes nothing.
 * Preconditions shared by all profiles (refusing the booted slot, tries in range, the booted
 * slot's state) are enforced by the controller before a verb is asked for its changes.
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
import { SlotError } from '../../errors.js';
import {
  SLOT_NAMES,
  SlotErrorCode,
  type SlotName,
  type SlotProfile,
  type SlotStatus,
} from '../slot-controller.js';

/** Environment variables as read: absent names are not set. */
export type EnvVars = ReadonlyMap<string, string>;
/** One variable to write; `null` removes it. */
export type EnvChange = readonly [name: string, value: string | null];

/**
 * How the booted slot stands in the environment:
 * `confirmed` (good, or the good fallback of a pending trial), `trial` (booted for a counted trial
 * and not yet confirmed), `rejected` (invalidated or rejected: the next boot leaves it).
 */
export type BootedState = 'confirmed' | 'trial' | 'rejected';

/** What the bootloader does at one power-on. */
export interface BootStep {
  /** Variables the bootloader saves (`saveenv` / `save_env`) before loading the kernel. */
  changes: EnvChange[];
  /** The slot it loads, or `null` if it resets without loading one (RAUC "no valid slot"). */
  slot: SlotName | null;
}

/** One environment protocol. See the module comment. */
export interface EnvProfile {
  /** Profile id reported by `capabilities()`. */
  readonly profile: SlotProfile;
  /** Largest `tries` accepted by `activateTrial`. */
  readonly maxTries: number;
  /** The booted slot's attempts are counted at every boot (RAUC), so it needs confirming each boot. */
  readonly confirmEveryBoot: boolean;
  /** The variables this profile reads. */
  readonly variables: readonly string[];
  /** Marker values for `rauc.slot=` on the kernel command line, if the profile has bootnames. */
  readonly bootnames?: Record<SlotName, string>;
  /** Full status given the environment and the booted slot. */
  status(env: EnvVars, booted: SlotName): SlotStatus;
  /** How the booted slot stands (see {@link BootedState}). */
  bootedState(env: EnvVars, booted: SlotName): BootedState;
  /** The slot the environment designates as primary (before attempt counting). */
  primarySlot(env: EnvVars): SlotName;
  invalidate(env: EnvVars, booted: SlotName, slot: SlotName): EnvChange[];
  activateTrial(env: EnvVars, booted: SlotName, slot: SlotName, tries: number): EnvChange[];
  /** Changes that abandon a pending switch to the other slot; `[]` if none is pending. */
  cancelTrial(env: EnvVars, booted: SlotName): EnvChange[];
  confirmBooted(env: EnvVars, booted: SlotName): EnvChange[];
  rejectBooted(env: EnvVars, booted: SlotName): EnvChange[];
  /** The bootloader's side: one power-on. */
  bootStep(env: EnvVars): BootStep;
}

/** A U-Boot/GRUB variable name we are willing to write. */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Printable ASCII, no leading/trailing blank (fw_setenv would keep it, GRUB scripts would not). */
const VALUE_RE = /^(?:[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?)?$/;

/** Check a variable name; thrown as a configuration error. */
export function assertVariableName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new SlotError(
      `invalid environment variable name ${JSON.stringify(name)}: use [A-Za-z_][A-Za-z0-9_]*`,
      {},
      SlotErrorCode.Argument,
    );
  }
}

/** Check a value before it is written (no newline, NUL, control characters or edge blanks). */
export function assertVariableValue(name: string, value: string): void {
  if (!VALUE_RE.test(value) || value === '') {
    throw new SlotError(
      `invalid value for ${name}: ${JSON.stringify(value)} (printable ASCII, 1-255 chars)`,
      {},
      SlotErrorCode.Argument,
    );
  }
}

/** A malformed environment (a variable the bootloader could not have written). */
export function envError(message: string): SlotError {
  return new SlotError(message, {}, SlotErrorCode.Environment);
}

/** Parse a non-negative decimal counter; absent → `fallback`. */
export function counter(env: EnvVars, name: string, fallback: number): number {
  const raw = env.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw))
    throw envError(`${name}=${JSON.stringify(raw)} is not a non-negative integer`);
  return Number(raw);
}

/** Check a slot → value mapping (bootnames, boot-part values): valid values, A and B distinct. */
export function checkMapping(what: string, mapping: Record<SlotName, string>): void {
  for (const slot of SLOT_NAMES) assertVariableValue(`${what}.${slot}`, mapping[slot]);
  if (mapping.A === mapping.B)
    throw new SlotError(
      `${what}: slots A and B map to the same value ${mapping.A}`,
      {},
      SlotErrorCode.Argument,
    );
}
