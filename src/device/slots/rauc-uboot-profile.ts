/**
 * RAUC-style U-Boot boot-environment protocol (`BOOT_ORDER`, `BOOT_<x>_LEFT`) as an
 * {@link EnvProfile}: pure functions over variables, for both the OS side and the bootloader
 * side. It does not touch storage (see `uboot-env.ts`).
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
import { SLOT_NAMES, type SlotName } from '../slot-controller.js';
import {
  assertVariableName,
  checkMapping,
  counter,
  type EnvChange,
  type EnvProfile,
  type EnvVars,
  envError,
} from './env-profile.js';
import {
  orderSlots,
  parseOrder,
  pendingSwitch,
  withFirst,
  without,
  withoutExhausted,
} from './rauc-order.js';

/** Options of {@link raucUbootProfile}. */
export interface RaucUbootProfileOptions {
  /** Bootnames used in `BOOT_ORDER` and the `BOOT_<name>_LEFT` variables (default `A`, `B`). */
  bootnames?: Record<SlotName, string>;
  /** Attempts of a confirmed slot, as RAUC's `rauc-mark-good` writes them (default 3). */
  maxTries?: number;
}

/**
 * RAUC's U-Boot protocol (RAUC `docs/integration.rst` boot script): at each boot U-Boot takes the
 * first slot in `BOOT_ORDER` whose `BOOT_<x>_LEFT` is above 0, decrements it and saves; if none
 * has tries left it resets every counter to the maximum and resets. Marking a slot good resets its
 * counter to the maximum, so the booted slot must be confirmed at every boot. An activated slot
 * holds `tries` attempts; with `tries === maxTries` it cannot be told from a confirmed one until
 * it has booted once. Invalidated and rejected slots are also removed from `BOOT_ORDER`, so the
 * "reset all counters" path can never resurrect a half-written slot. A missing `BOOT_ORDER` reads
 * as `A B` and a missing counter as the maximum, as RAUC's example script defaults them.
 */
export function raucUbootProfile(options: RaucUbootProfileOptions = {}): EnvProfile {
  const names = options.bootnames ?? { A: 'A', B: 'B' };
  const maxTries = options.maxTries ?? 3;
  checkMapping('bootnames', names);
  const leftVar = (s: SlotName) => `BOOT_${names[s]}_LEFT`;
  for (const s of SLOT_NAMES) assertVariableName(leftVar(s));
  const defaultOrder = `${names.A} ${names.B}`;

  const read = (env: EnvVars) => {
    const order = parseOrder(env.get('BOOT_ORDER'), defaultOrder);
    const slots = orderSlots(order, names);
    if (slots.length === 0)
      throw envError(
        `BOOT_ORDER=${JSON.stringify(env.get('BOOT_ORDER'))} names neither ${names.A} nor ${names.B}`,
      );
    const left = {
      A: counter(env, leftVar('A'), maxTries),
      B: counter(env, leftVar('B'), maxTries),
    };
    return { order, slots, left };
  };
  const state = (env: EnvVars) => {
    const { order, slots, left } = read(env);
    const inOrder = (s: SlotName) => slots.includes(s);
    const bootable = (s: SlotName) => inOrder(s) && left[s] > 0;
    const confirmed = (s: SlotName) => inOrder(s) && left[s] >= maxTries;
    const nextBoot = slots.find((s) => left[s] > 0) ?? (slots[0] as SlotName);
    return { order, slots, left, inOrder, bootable, confirmed, nextBoot };
  };

  return {
    profile: 'uboot-rauc',
    maxTries,
    confirmEveryBoot: true,
    bootnames: names,
    variables: ['BOOT_ORDER', leftVar('A'), leftVar('B')],
    status(env, booted) {
      const st = state(env);
      const slot = (s: SlotName) => ({
        bootable: st.bootable(s),
        confirmed: st.confirmed(s),
        triesLeft: st.inOrder(s) ? st.left[s] : 0,
      });
      const trialPending = st.nextBoot !== booted || !st.confirmed(booted);
      return { booted, nextBoot: st.nextBoot, trialPending, slots: { A: slot('A'), B: slot('B') } };
    },
    bootedState(env, booted) {
      const st = state(env);
      if (!st.inOrder(booted)) return 'rejected';
      return st.confirmed(booted) ? 'confirmed' : 'trial';
    },
    primarySlot: (env) => state(env).slots[0] as SlotName,
    invalidate(env, _booted, slot) {
      const { order } = read(env);
      return [
        [leftVar(slot), '0'],
        ['BOOT_ORDER', without(order, names[slot])],
      ];
    },
    activateTrial(env, booted, slot, tries) {
      const { order } = read(env);
      // Tries first, order last (the order flip is what makes the slot boot).
      return [
        [leftVar(slot), String(tries)],
        ['BOOT_ORDER', withFirst(order, names[slot], names[booted])],
      ];
    },
    cancelTrial(env, booted) {
      const st = state(env);
      const other = pendingSwitch(st.slots, booted);
      if (other === null) return [];
      return [
        [leftVar(other), '0'],
        ['BOOT_ORDER', without(st.order, names[other])],
      ];
    },
    confirmBooted(env, booted) {
      const st = state(env);
      // Drop exhausted slots (a failed trial) so a later "reset all counters" cannot retry them.
      const exhausted = (s: SlotName) => st.inOrder(s) && !st.bootable(s);
      return [
        [leftVar(booted), String(maxTries)],
        ['BOOT_ORDER', withoutExhausted(st.order, names, booted, exhausted)],
      ];
    },
    rejectBooted(env, booted) {
      const { order } = read(env);
      return [
        [leftVar(booted), '0'],
        ['BOOT_ORDER', without(order, names[booted])],
      ];
    },
    bootStep(env) {
      const st = state(env);
      const chosen = st.slots.find((s) => st.left[s] > 0);
      if (!chosen) {
        // "No valid slot found, resetting tries to 3" and reset.
        return {
          changes: SLOT_NAMES.map((s) => [leftVar(s), String(maxTries)] as EnvChange),
          slot: null,
        };
      }
      return { changes: [[leftVar(chosen), String(st.left[chosen] - 1)]], slot: chosen };
    },
  };
}
