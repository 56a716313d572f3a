/**
 * The shared engine of the environment-backed slot controllers: per-boot evidence, the
 * preconditions of every verb, and the write discipline — compute the changes from the current
 * environment, drop those already in place (idempotency), write the rest in ONE call to the
 * {@link EnvStore}, read the environment back and compare (tools that exit 0 without applying
 * anything are caught here).
 *
 * Implements {@link SlotController}. What a verb writes is the profile's business
 * (`env-profiles.ts`); how bytes reach the storage is the store's (`uboot-env.ts`, `grub-env.ts`,
 * `file-slot.ts`).
 *
 * Calls on one instance are serialized (a promise queue), so two verbs never interleave their
 * read-modify-write. Not safe across processes: run one agent per device.
 *
 * @module
 */
import { realpath } from 'node:fs/promises';
import { debuglog } from 'node:util';
import { SlotError } from '../../errors.js';
import {
  type ActivateTrialOptions,
  isSlotName,
  otherSlot,
  type SlotController,
  type SlotControllerCapabilities,
  SlotErrorCode,
  type SlotName,
  type SlotStatus,
} from '../slot-controller.js';
import { type BootEvidenceOptions, mountedRootDevice, readBootedSlot } from './booted-slot.js';
import { EnvCanary, type EnvCanaryOptions } from './env-canary.js';
import type { EnvChange, EnvProfile, EnvVars } from './env-profiles.js';

const debug = debuglog('tufota');

/** Storage of a boot environment: one read, one atomic write. */
export interface EnvStore {
  /** Human-readable location for messages (`/boot/grub/grubenv`, `fw_env.config → /dev/mmcblk0`). */
  readonly description: string;
  /** Read `names`; absent variables are missing from the map. */
  read(names: readonly string[]): Promise<EnvVars>;
  /** Apply all `changes` in ONE atomic write (`null` removes a variable). */
  write(changes: readonly EnvChange[]): Promise<void>;
}

/** Per-boot evidence options; `rootDevices` defaults to each slot's device. */
export type SlotEvidenceOptions = Partial<BootEvidenceOptions>;

/** Options every environment-backed controller takes. */
export interface EnvSlotControllerOptions {
  /** Block device or file holding each slot's image (the agent writes updates there). */
  slotDevices: Record<SlotName, string>;
  /** Where to find per-boot evidence (`cmdlinePath`, `rootDevices`, …). */
  evidence?: SlotEvidenceOptions;
  /**
   * Check at every boot that the bootloader loaded the environment this controller writes
   * (`env-canary.ts`): each write adds `tufota_env_seq` / `tufota_env_writer`, and the boot
   * script must pass `tufota.envseq=${tufota_env_seq}` on the kernel command line. `true` uses
   * `evidence.cmdlinePath` and Linux's boot id. Default off.
   */
  envCanary?: boolean | EnvCanaryOptions;
}

/** Everything a {@link BootSimulator} needs to play the bootloader for a controller. */
export interface SimulationHandle {
  readonly store: EnvStore;
  readonly profile: EnvProfile;
  readonly cmdlinePath: string;
  slotDevice(slot: SlotName): string;
}

/** Base of the environment-backed controllers. See the module comment. */
export class EnvSlotController implements SlotController {
  readonly #store: EnvStore;
  readonly #profile: EnvProfile;
  readonly #capabilities: SlotControllerCapabilities;
  readonly #slotDevices: Readonly<Record<SlotName, string>>;
  readonly #evidence: BootEvidenceOptions;
  readonly #canary: EnvCanary | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  protected constructor(
    store: EnvStore,
    profile: EnvProfile,
    capabilities: Omit<SlotControllerCapabilities, 'profile' | 'maxTries' | 'confirmEveryBoot'>,
    options: EnvSlotControllerOptions,
  ) {
    for (const slot of ['A', 'B'] as const) {
      const device = options.slotDevices?.[slot];
      if (typeof device !== 'string' || device === '') {
        throw new SlotError(
          `slotDevices.${slot} must name the block device or file of slot ${slot}`,
          {},
          SlotErrorCode.Argument,
        );
      }
    }
    if (options.slotDevices.A === options.slotDevices.B) {
      throw new SlotError(
        `slotDevices.A and slotDevices.B are both ${options.slotDevices.A}`,
        {},
        SlotErrorCode.Argument,
      );
    }
    this.#store = store;
    this.#profile = profile;
    this.#capabilities = Object.freeze({
      ...capabilities,
      profile: profile.profile,
      maxTries: profile.maxTries,
      confirmEveryBoot: profile.confirmEveryBoot,
    });
    this.#slotDevices = Object.freeze({ ...options.slotDevices });
    const evidence = options.evidence ?? {};
    this.#evidence = {
      ...evidence,
      rootDevices: evidence.rootDevices ?? {
        A: [options.slotDevices.A],
        B: [options.slotDevices.B],
      },
      slotMarkers:
        evidence.slotMarkers ??
        (profile.bootnames ? { A: [profile.bootnames.A], B: [profile.bootnames.B] } : undefined),
    };
    this.#canary = options.envCanary
      ? new EnvCanary({
          cmdlinePath: evidence.cmdlinePath,
          ...(typeof options.envCanary === 'object' ? options.envCanary : {}),
        })
      : undefined;
  }

  capabilities(): SlotControllerCapabilities {
    return this.#capabilities;
  }

  slotDevice(slot: SlotName): string {
    if (!isSlotName(slot))
      throw new SlotError(
        `unknown slot ${String(slot)}: expected A or B`,
        {},
        SlotErrorCode.Argument,
      );
    return this.#slotDevices[slot];
  }

  /** Internals for the {@link BootSimulator}; not for production code. */
  get simulation(): SimulationHandle {
    return {
      store: this.#store,
      profile: this.#profile,
      cmdlinePath: this.#evidence.cmdlinePath ?? '/proc/cmdline',
      slotDevice: (slot) => this.slotDevice(slot),
    };
  }

  bootedSlot(): Promise<SlotName> {
    return readBootedSlot(this.#evidence);
  }

  status(): Promise<SlotStatus> {
    return this.#serialize(async () => {
      const booted = await this.bootedSlot();
      const env = await this.#read();
      await this.#canary?.check(env, this.#store.description);
      return this.#profile.status(env, booted);
    });
  }

  async updateTarget(): Promise<SlotName> {
    const booted = await this.bootedSlot();
    const target = otherSlot(booted);
    // Defence against a wrong slotDevices mapping: never hand out the mounted root as a target.
    const mounted = await mountedRootDevice(this.#evidence.mountInfoPath);
    const device = this.#slotDevices[target];
    if (mounted !== undefined && (await realpath(device).catch(() => device)) === mounted) {
      throw new SlotError(
        `slot ${target}'s device ${device} is the mounted root filesystem although the evidence says slot ${booted} is booted: check slotDevices`,
        {},
        SlotErrorCode.BootedSlot,
      );
    }
    return target;
  }

  invalidate(slot: SlotName): Promise<void> {
    return this.#change('invalidate', slot, (env, booted) => {
      this.#refuseBooted('invalidate', slot, booted);
      this.#requireConfirmed('invalidate', slot, env, booted);
      return this.#profile.invalidate(env, booted, slot);
    });
  }

  activateTrial(slot: SlotName, options: ActivateTrialOptions): Promise<void> {
    const tries = options?.tries;
    if (!Number.isSafeInteger(tries) || tries < 1 || tries > this.#profile.maxTries) {
      return Promise.reject(
        new SlotError(
          `tries must be an integer from 1 to ${this.#profile.maxTries}, got ${String(tries)}`,
          {},
          SlotErrorCode.Argument,
        ),
      );
    }
    return this.#change('activateTrial', slot, (env, booted) => {
      this.#refuseBooted('activate', slot, booted);
      this.#requireConfirmed('activate', slot, env, booted);
      return this.#profile.activateTrial(env, booted, slot, tries);
    });
  }

  cancelTrial(): Promise<void> {
    return this.#change('cancelTrial', undefined, (env, booted) => {
      const state = this.#profile.bootedState(env, booted);
      if (state === 'trial') {
        throw this.#stateError(
          `the running slot ${booted} is itself on trial: call confirmBooted() or rejectBooted(), not cancelTrial()`,
        );
      }
      if (state === 'rejected') {
        throw this.#stateError(
          `the running slot ${booted} was rejected; cancelling cannot make it bootable again`,
        );
      }
      return this.#profile.cancelTrial(env, booted);
    });
  }

  confirmBooted(): Promise<void> {
    return this.#change('confirmBooted', undefined, (env, booted) => {
      if (this.#profile.bootedState(env, booted) === 'rejected') {
        throw this.#stateError(
          `the running slot ${booted} was rejected or invalidated; it cannot be confirmed`,
        );
      }
      return this.#profile.confirmBooted(env, booted);
    });
  }

  rejectBooted(): Promise<void> {
    return this.#change('rejectBooted', undefined, (env, booted) => {
      const status = this.#profile.status(env, booted);
      const other = otherSlot(booted);
      const state = this.#profile.bootedState(env, booted);
      if (state === 'confirmed') {
        throw this.#stateError(
          `the running slot ${booted} is confirmed, not on trial: there is nothing to reject`,
        );
      }
      if (!status.slots[other].bootable) {
        throw this.#stateError(
          `slot ${other} is not bootable: rejecting slot ${booted} would leave nothing to boot`,
        );
      }
      if (state === 'rejected') return [];
      return this.#profile.rejectBooted(env, booted);
    });
  }

  #refuseBooted(verb: string, slot: SlotName, booted: SlotName): void {
    if (!isSlotName(slot))
      throw new SlotError(
        `unknown slot ${String(slot)}: expected A or B`,
        {},
        SlotErrorCode.Argument,
      );
    if (slot === booted) {
      throw new SlotError(
        `refusing to ${verb} slot ${slot}: it is the booted slot (updates go to the other slot)`,
        {},
        SlotErrorCode.BootedSlot,
      );
    }
  }

  /** Touching the other slot while the booted one is unconfirmed would destroy its fallback. */
  #requireConfirmed(verb: string, slot: SlotName, env: EnvVars, booted: SlotName): void {
    const state = this.#profile.bootedState(env, booted);
    if (state !== 'confirmed') {
      throw this.#stateError(
        `refusing to ${verb} slot ${slot}: the running slot ${booted} is ${state === 'trial' ? 'on trial (not confirmed)' : 'rejected'} ` +
          `and slot ${slot} is its fallback; call confirmBooted() first`,
      );
    }
  }

  #stateError(message: string): SlotError {
    return new SlotError(message, {}, SlotErrorCode.State);
  }

  #read(): Promise<EnvVars> {
    return this.#store.read(
      this.#canary
        ? [...this.#profile.variables, ...this.#canary.variables]
        : this.#profile.variables,
    );
  }

  /** Read, plan, write once, read back: the only path by which a verb changes the environment. */
  #change(
    verb: string,
    slot: SlotName | undefined,
    plan: (env: EnvVars, booted: SlotName) => EnvChange[],
  ): Promise<void> {
    return this.#serialize(async () => {
      const booted = await this.bootedSlot();
      const env = await this.#read();
      // Planning on an environment the bootloader never loaded would be planning on fiction.
      await this.#canary?.check(env, this.#store.description);
      const wanted = plan(env, booted);
      const pending = wanted.filter(([name, value]) => (env.get(name) ?? null) !== value);
      if (pending.length === 0) {
        debug('slots: %s(%s): environment already in place, nothing written', verb, slot ?? '');
        return;
      }
      if (this.#canary) pending.push(...(await this.#canary.changes()));
      debug('slots: %s(%s): writing %o to %s', verb, slot ?? '', pending, this.#store.description);
      await this.#store.write(pending);
      const after = await this.#read();
      const wrong = pending.filter(([name, value]) => (after.get(name) ?? null) !== value);
      if (wrong.length > 0) {
        const detail = wrong
          .map(([n, v]) => `${n}: wrote ${v ?? '(unset)'}, read ${after.get(n) ?? '(unset)'}`)
          .join('; ');
        throw new SlotError(
          `${verb}: the environment at ${this.#store.description} does not hold what was written (${detail}); ` +
            'the tool reported success without applying the change',
          {},
          SlotErrorCode.ReadBack,
        );
      }
    });
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}
