/**
 * The boot-slot contract between the device agent and a bootloader: the four verbs every real
 * A/B system reduces to (RAUC bootchooser, Android boot_control, Mender, MCUboot):
 * **invalidate the target slot → write + verify → activate for a trial → confirm or reject after
 * reboot** (DESIGN.md, "Device side: the slot controller contract").
 *
 * This module holds only the interface and its value types; implementations live in
 * `device/slots/` and are named by mechanism (`UbootEnvSlotController`, `GrubEnvSlotController`,
 * `FileSlotController`). It does not write images: the agent streams the verified image to
 * {@link SlotController.slotDevice} itself, between {@link SlotController.invalidate} and
 * {@link SlotController.activateTrial}.
 *
 * Rules every implementation follows:
 * - The booted slot comes from per-boot evidence (`/proc/cmdline`, the mounted root device),
 *   never from "next boot" variables, which say what the bootloader *will* do, not what it did.
 * - Every state change is ONE atomic, durable write of the boot environment, read back and
 *   compared afterwards (`fw_setenv` silently ignores malformed lines and exits 0).
 * - Every method is idempotent: calling it again after it succeeded (or after a power cut in the
 *   middle of it) is safe and, when the environment already has the wanted values, writes nothing.
 * - The booted slot is never invalidated or activated for a trial: an update always goes to the
 *   other slot, so a failure leaves the running system bootable.
 *
 * @module
 */

/**
 * One of the two slots of an A/B system. Adapters map the names to their bootloader's values
 * (`boot_part=2`/`3` for Mender, bootnames for RAUC, partition devices for the root filesystem).
 */
export type SlotName = 'A' | 'B';

/** Both slot names, in order. */
export const SLOT_NAMES: readonly SlotName[] = Object.freeze(['A', 'B'] as const);

/** `true` if `value` is a {@link SlotName}. */
export function isSlotName(value: unknown): value is SlotName {
  return value === 'A' || value === 'B';
}

/** The slot that is not `slot`. */
export function otherSlot(slot: SlotName): SlotName {
  return slot === 'A' ? 'B' : 'A';
}

/** What the boot environment says about one slot. */
export interface SlotState {
  /**
   * The bootloader may boot this slot without a further {@link SlotController.activateTrial}:
   * it is the primary slot, or the fallback of a trial. An invalidated or rejected slot is not
   * bootable.
   */
  bootable: boolean;
  /**
   * The slot is marked good: the bootloader will boot it without counting attempts. RAUC-style
   * environments cannot tell an activated, not yet booted slot from a confirmed one (both hold the
   * full number of tries); see the adapter's documentation.
   */
  confirmed: boolean;
  /**
   * Boot attempts the bootloader still allows this slot before it falls back, where the
   * environment counts them for this slot; `null` where it does not (Mender-style environments
   * count only for the slot on trial).
   */
  triesLeft: number | null;
}

/** A snapshot of the boot state: what booted and what the next boot will do. */
export interface SlotStatus {
  /** The slot the running system booted from (per-boot evidence). */
  booted: SlotName;
  /** The slot the bootloader will boot next, after applying its attempt counting and fallback. */
  nextBoot: SlotName;
  /**
   * The boot configuration is not settled: the next boot goes to a slot other than the booted
   * one (an activated trial, or a fallback after {@link SlotController.rejectBooted}), or the
   * booted slot still awaits {@link SlotController.confirmBooted}. `false` only when the booted
   * slot is confirmed and will boot again.
   */
  trialPending: boolean;
  /** Per-slot state. */
  slots: Record<SlotName, SlotState>;
}

/** Environment layouts (profiles) the adapters implement. */
export const SlotProfile = {
  /** U-Boot with Mender's variables: `boot_part`, `upgrade_available`, `bootcount`, `bootlimit`. */
  UbootMender: 'uboot-mender',
  /** U-Boot with RAUC's bootchooser variables: `BOOT_ORDER`, `BOOT_<slot>_LEFT`. */
  UbootRauc: 'uboot-rauc',
  /** GRUB with RAUC's variables: `ORDER`, `<slot>_OK`, `<slot>_TRY`. */
  GrubRauc: 'grub-rauc',
  /** A JSON file with Mender's variables, for tests, simulators and devices without U-Boot. */
  FileMender: 'file-mender',
} as const;
/** One of {@link SlotProfile}'s values. */
export type SlotProfile = (typeof SlotProfile)[keyof typeof SlotProfile];

/** What a controller can do; the agent reads it to pick tries and report the device's setup. */
export interface SlotControllerCapabilities {
  /** The environment layout, one of {@link SlotProfile}. */
  profile: SlotProfile;
  /** The largest `tries` {@link SlotController.activateTrial} accepts (at least 1). */
  maxTries: number;
  /**
   * Each state change is one write that the storage applies all-or-nothing (a redundant U-Boot
   * environment, a file replaced by rename). `false` for a single-copy U-Boot environment, which a
   * power cut mid-write can corrupt (U-Boot then loads its built-in default environment).
   */
  atomicActivation: boolean;
  /** The environment is stored twice (U-Boot redundant environment); `undefined` if not applicable. */
  redundantEnv?: boolean;
  /**
   * The booted slot's attempts are counted on every boot, not just after an update, so
   * {@link SlotController.confirmBooted} must run after every healthy boot (RAUC's
   * `rauc-mark-good`).
   */
  confirmEveryBoot: boolean;
}

/** Options of {@link SlotController.activateTrial}. */
export interface ActivateTrialOptions {
  /** Boot attempts before the bootloader falls back (1 … `capabilities().maxTries`). */
  tries: number;
}

/** Stable error codes carried by the `SlotError`s adapters throw. */
export const SlotErrorCode = {
  /** Generic slot failure. */
  Generic: 'ERR_TUF_SLOT',
  /** A bootloader tool is not installed (the message names the Debian package). */
  ToolMissing: 'ERR_TUF_SLOT_TOOL_MISSING',
  /** A bootloader tool exited non-zero or was killed. */
  ToolFailed: 'ERR_TUF_SLOT_TOOL_FAILED',
  /** A bootloader tool did not finish in time. */
  ToolTimeout: 'ERR_TUF_SLOT_TOOL_TIMEOUT',
  /** The boot environment is missing, unreadable, blank, corrupt or lacks a required variable. */
  Environment: 'ERR_TUF_SLOT_ENV',
  /** The environment read back after a write does not hold the values written. */
  ReadBack: 'ERR_TUF_SLOT_READBACK',
  /** The operation would touch the booted slot (invalidate or activate it). */
  BootedSlot: 'ERR_TUF_SLOT_BOOTED',
  /** The per-boot evidence (kernel command line, root device) names no known slot. */
  Evidence: 'ERR_TUF_SLOT_EVIDENCE',
  /** The operation contradicts the boot state (e.g. confirming a rejected slot). */
  State: 'ERR_TUF_SLOT_STATE',
  /** An argument is out of range (e.g. `tries` above `maxTries`). */
  Argument: 'ERR_TUF_SLOT_ARGUMENT',
  /** No slot boots: every attempt failed (reported by the boot simulator: a bricked device). */
  NoBootableSlot: 'ERR_TUF_SLOT_NO_BOOTABLE',
} as const;
/** One of {@link SlotErrorCode}'s values. */
export type SlotErrorCode = (typeof SlotErrorCode)[keyof typeof SlotErrorCode];

/**
 * A/B boot-slot control over one bootloader environment.
 *
 * Not safe for concurrent use across processes (the read-modify-write of the environment is not
 * locked against other writers): run one agent per device. Implementations serialize calls made
 * on one instance.
 *
 * @example
 * ```ts
 * const target = await slots.updateTarget();
 * await slots.invalidate(target);                 // before the first byte
 * await writeAndVerify(slots.slotDevice(target)); // the agent's job: write, fsync, re-hash
 * await slots.activateTrial(target, { tries: 1 }); // the single commit point
 * // … reboot; in the new slot, after health checks:
 * await slots.confirmBooted();                     // or slots.rejectBooted() and reboot
 * ```
 */
export interface SlotController {
  /** What this controller supports. Pure: no I/O. */
  capabilities(): SlotControllerCapabilities;

  /**
   * Read the boot environment and the per-boot evidence. Read-only.
   *
   * @throws SlotError `ERR_TUF_SLOT_ENV` if the environment is missing or corrupt,
   *   `ERR_TUF_SLOT_EVIDENCE` if the booted slot cannot be determined.
   */
  status(): Promise<SlotStatus>;

  /**
   * The slot the running system booted from, from per-boot evidence (`rauc.slot=`, `root=` on the
   * kernel command line, or the mounted root device); never from next-boot variables.
   *
   * @throws SlotError `ERR_TUF_SLOT_EVIDENCE` if no evidence names a known slot.
   */
  bootedSlot(): Promise<SlotName>;

  /**
   * The slot an update must be written to: the one not booted.
   *
   * @throws SlotError `ERR_TUF_SLOT_BOOTED` if the environment's target would be the booted slot.
   */
  updateTarget(): Promise<SlotName>;

  /** Path of the block device or file that holds `slot`'s image. Pure: no I/O. */
  slotDevice(slot: SlotName): string;

  /**
   * Make `slot` unbootable, durably, before its first byte is written, so a power cut during the
   * write can never boot a torn image. Cancels a pending trial of `slot`.
   *
   * @throws SlotError `ERR_TUF_SLOT_BOOTED` if `slot` is the booted slot.
   */
  invalidate(slot: SlotName): Promise<void>;

  /**
   * The single commit point of an update: make the bootloader boot `slot` next, for at most
   * `tries` attempts, falling back to the booted slot if it is not confirmed in time. ONE atomic
   * write. Call only after the image was written, synced and re-read with the expected hashes.
   *
   * @throws SlotError `ERR_TUF_SLOT_BOOTED` if `slot` is the booted slot, `ERR_TUF_SLOT_ARGUMENT`
   *   if `tries` is not in 1 … `maxTries`.
   */
  activateTrial(slot: SlotName, options: ActivateTrialOptions): Promise<void>;

  /**
   * Abandon an activated trial before rebooting: the next boot is the booted slot again. A no-op
   * when no switch is pending.
   *
   * @throws SlotError `ERR_TUF_SLOT_STATE` when the system already runs the trial slot (use
   *   {@link confirmBooted} or {@link rejectBooted}).
   */
  cancelTrial(): Promise<void>;

  /**
   * Mark the booted slot good, after its health checks passed: the bootloader stops counting its
   * attempts. Does not touch a switch to the other slot that is pending. The caller compares
   * {@link bootedSlot} with the slot it activated first: after a fallback the old slot is booted
   * and already good, so this is a no-op.
   *
   * @throws SlotError `ERR_TUF_SLOT_STATE` if the booted slot was rejected or invalidated.
   */
  confirmBooted(): Promise<void>;

  /**
   * The booted slot failed its health checks: make the next boot fall back to the other slot and
   * never try this one again without a new activation. The caller then reboots.
   *
   * @throws SlotError `ERR_TUF_SLOT_STATE` if the booted slot is not on trial (it is confirmed:
   *   nothing to reject) or the other slot is not bootable (rejecting would leave nothing to boot).
   */
  rejectBooted(): Promise<void>;
}
