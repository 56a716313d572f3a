/**
 * RAUC-style GRUB boot-environment protocol (`ORDER`, `<x>_OK`, `<x>_TRY`) as an
 * {@link EnvProfile}: pure functions over variables, for both the OS side and the bootloader
 * side. It does not touch storage (see `grub-env.ts`).
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
import { SLOT_NAMES, type SlotName } from '../slot-controller.js';
import {
  assertVariableName,
  checkMapping,
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

/** Options of {@link raucGrubProfile}. */
export interface RaucGrubProfileOptions {
  /** Bootnames used in `ORDER` and the `<name>_OK` / `<name>_TRY` variables (default `A`, `B`). */
  bootnames?: Record<SlotName, string>;
  /** The slot of GRUB's `default` menu entry, booted when no slot qualifies (default `A`). */
  defaultSlot?: SlotName;
}

/**
 * RAUC's GRUB protocol (RAUC `docs/integration.rst` grub.cfg): at each boot GRUB walks `ORDER`,
 * sets `<x>_TRY=1` on every slot it examines and boots the first with `<x>_OK=1` and a `TRY` that
 * was 0; marking good sets `OK=1 TRY=0`, marking bad `OK=0 TRY=0`. One attempt per activation
 * (`maxTries` 1), and the booted slot needs confirming at every boot. If no slot qualifies
 * (current RAUC grub.cfg) GRUB clears `TRY` of every `OK` slot and boots its `default` entry; if
 * that slot was invalidated the attempt fails (use `panic=N` and a watchdog) and the next power-on
 * boots the good slot again.
 */
export function raucGrubProfile(options: RaucGrubProfileOptions = {}): EnvProfile {
  const names = options.bootnames ?? { A: 'A', B: 'B' };
  const defaultSlot = options.defaultSlot ?? 'A';
  checkMapping('bootnames', names);
  const okVar = (s: SlotName) => `${names[s]}_OK`;
  const tryVar = (s: SlotName) => `${names[s]}_TRY`;
  for (const s of SLOT_NAMES) {
    assertVariableName(okVar(s));
    assertVariableName(tryVar(s));
  }
  const defaultOrder = `${names.A} ${names.B}`;

  const flag = (env: EnvVars, name: string): boolean => {
    const raw = env.get(name) ?? '0';
    if (raw !== '0' && raw !== '1') throw envError(`${name}=${raw} is neither 0 nor 1`);
    return raw === '1';
  };
  const state = (env: EnvVars) => {
    const order = parseOrder(env.get('ORDER'), defaultOrder);
    const slots = orderSlots(order, names);
    const ok = { A: flag(env, okVar('A')), B: flag(env, okVar('B')) };
    const tried = { A: flag(env, tryVar('A')), B: flag(env, tryVar('B')) };
    const inOrder = (s: SlotName) => slots.includes(s);
    const bootable = (s: SlotName) => inOrder(s) && ok[s] && !tried[s];
    const nextBoot = slots.find(bootable) ?? defaultSlot;
    return { order, slots, ok, tried, inOrder, bootable, nextBoot };
  };

  return {
    profile: 'grub-rauc',
    maxTries: 1,
    confirmEveryBoot: true,
    bootnames: names,
    variables: ['ORDER', okVar('A'), tryVar('A'), okVar('B'), tryVar('B')],
    status(env, booted) {
      const st = state(env);
      const slot = (s: SlotName) => ({
        bootable: st.bootable(s),
        confirmed: st.bootable(s),
        triesLeft: st.bootable(s) ? 1 : 0,
      });
      const trialPending = st.nextBoot !== booted || !st.bootable(booted);
      return { booted, nextBoot: st.nextBoot, trialPending, slots: { A: slot('A'), B: slot('B') } };
    },
    bootedState(env, booted) {
      const st = state(env);
      if (!st.inOrder(booted) || !st.ok[booted]) return 'rejected';
      return st.tried[booted] ? 'trial' : 'confirmed';
    },
    primarySlot: (env) => state(env).slots[0] ?? defaultSlot,
    invalidate: (env, _booted, slot) => [
      [okVar(slot), '0'],
      [tryVar(slot), '0'],
      ['ORDER', without(state(env).order, names[slot])],
    ],
    activateTrial: (env, booted, slot) => [
      [okVar(slot), '1'],
      [tryVar(slot), '0'],
      ['ORDER', withFirst(state(env).order, names[slot], names[booted])],
    ],
    cancelTrial(env, booted) {
      const st = state(env);
      const other = pendingSwitch(st.slots, booted);
      if (other === null) return [];
      return [
        [okVar(other), '0'],
        [tryVar(other), '0'],
        ['ORDER', without(st.order, names[other])],
      ];
    },
    confirmBooted(env, booted) {
      const st = state(env);
      const exhausted = (s: SlotName) => st.inOrder(s) && !st.bootable(s);
      return [
        [okVar(booted), '1'],
        [tryVar(booted), '0'],
        ['ORDER', withoutExhausted(st.order, names, booted, exhausted)],
      ];
    },
    rejectBooted: (env, booted) => [
      [okVar(booted), '0'],
      [tryVar(booted), '0'],
      ['ORDER', without(state(env).order, names[booted])],
    ],
    bootStep(env) {
      const st = state(env);
      const tried = { ...st.tried };
      let chosen: SlotName | undefined;
      for (const s of st.slots) {
        const wasTried = tried[s];
        tried[s] = true;
        if (st.ok[s] && !wasTried) {
          chosen = s;
          break;
        }
      }
      if (chosen === undefined) {
        // "reset booted flags in case both sides have failed to boot", then the default entry.
        for (const s of SLOT_NAMES) if (st.ok[s] && tried[s]) tried[s] = false;
      }
      const changes: EnvChange[] = SLOT_NAMES.filter((s) => tried[s] !== st.tried[s]).map((s) => [
        tryVar(s),
        tried[s] ? '1' : '0',
      ]);
      return { changes, slot: chosen ?? defaultSlot };
    },
  };
}
