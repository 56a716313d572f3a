/**
 * The boot-environment protocols, as pure functions over variables: Mender-style U-Boot
 * (`boot_part`, `upgrade_available`, `bootcount`, `bootlimit`), RAUC-style U-Boot (`BOOT_ORDER`,
 * `BOOT_<x>_LEFT`) and RAUC-style GRUB (`ORDER`, `<x>_OK`, `<x>_TRY`).
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
  otherSlot,
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

function envError(message: string): SlotError {
  return new SlotError(message, {}, SlotErrorCode.Environment);
}

/** Parse a non-negative decimal counter; absent → `fallback`. */
function counter(env: EnvVars, name: string, fallback: number): number {
  const raw = env.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw))
    throw envError(`${name}=${JSON.stringify(raw)} is not a non-negative integer`);
  return Number(raw);
}

function checkMapping(what: string, mapping: Record<SlotName, string>): void {
  for (const slot of SLOT_NAMES) assertVariableValue(`${what}.${slot}`, mapping[slot]);
  if (mapping.A === mapping.B)
    throw new SlotError(
      `${what}: slots A and B map to the same value ${mapping.A}`,
      {},
      SlotErrorCode.Argument,
    );
}

// ---------------------------------------------------------------------------------------------
// Mender-style U-Boot.

/** Options of {@link menderProfile}. */
export interface MenderProfileOptions {
  /** Variable holding the partition to boot (default `boot_part`; Mender: `mender_boot_part`). */
  bootPartVariable?: string;
  /** Optional mirror written with the hexadecimal value (Mender: `mender_boot_part_hex`). */
  bootPartHexVariable?: string;
  /** Value of the boot-part variable for each slot (default `{ A: '2', B: '3' }`, Mender's). */
  bootPartValues?: Record<SlotName, string>;
  /** Largest `tries` (written as `bootlimit`; default 3). */
  maxTries?: number;
  /** Profile id to report (the file controller reuses this profile). */
  profile?: SlotProfile;
}

/**
 * Mender's U-Boot protocol. U-Boot (with `CONFIG_BOOTCOUNT_ENV`) increments `bootcount` at every
 * boot while `upgrade_available=1`; when `bootcount > bootlimit` it runs `altbootcmd`, which
 * switches `boot_part` to the other slot and clears `upgrade_available`. Only the slot on trial
 * has counted attempts; the other slot is bootable only as that trial's fallback.
 */
export function menderProfile(options: MenderProfileOptions = {}): EnvProfile {
  const bootPart = options.bootPartVariable ?? 'boot_part';
  const hexVar = options.bootPartHexVariable;
  const values = options.bootPartValues ?? { A: '2', B: '3' };
  const maxTries = options.maxTries ?? 3;
  assertVariableName(bootPart);
  if (hexVar !== undefined) assertVariableName(hexVar);
  checkMapping('bootPartValues', values);
  const hexValues: Record<SlotName, string> | undefined =
    hexVar === undefined
      ? undefined
      : {
          A: /^\d+$/.test(values.A) ? Number(values.A).toString(16) : values.A,
          B: /^\d+$/.test(values.B) ? Number(values.B).toString(16) : values.B,
        };

  const read = (env: EnvVars) => {
    const raw = env.get(bootPart);
    if (raw === undefined)
      throw envError(
        `${bootPart} is not set: the default environment must define it (e.g. ${bootPart}=${values.A})`,
      );
    const bp = SLOT_NAMES.find((s) => values[s] === raw);
    if (!bp)
      throw envError(`${bootPart}=${raw} is neither slot A (${values.A}) nor slot B (${values.B})`);
    const ua = env.get('upgrade_available') ?? '0';
    if (ua !== '0' && ua !== '1') throw envError(`upgrade_available=${ua} is neither 0 nor 1`);
    return {
      bp,
      ua: ua === '1',
      bc: counter(env, 'bootcount', 0),
      bl: counter(env, 'bootlimit', 0),
    };
  };
  const point = (slot: SlotName): EnvChange[] => {
    const changes: EnvChange[] = [[bootPart, values[slot]]];
    if (hexVar !== undefined && hexValues) changes.push([hexVar, hexValues[slot]]);
    return changes;
  };
  const settle = (slot: SlotName): EnvChange[] => [
    ...point(slot),
    ['upgrade_available', '0'],
    ['bootcount', '0'],
  ];

  return {
    profile: options.profile ?? 'uboot-mender',
    maxTries,
    confirmEveryBoot: false,
    variables: [
      bootPart,
      ...(hexVar ? [hexVar] : []),
      'upgrade_available',
      'bootcount',
      'bootlimit',
    ],
    status(env, booted) {
      const { bp, ua, bc, bl } = read(env);
      const fallsBack = ua && bl > 0 && bc + 1 > bl;
      const nextBoot = fallsBack ? otherSlot(bp) : bp;
      const slot = (s: SlotName) => ({
        bootable: s === bp || (ua && s === otherSlot(bp)),
        confirmed: s === bp && !ua,
        triesLeft: ua && s === bp && bl > 0 ? Math.max(0, bl - bc) : null,
      });
      const slots = { A: slot('A'), B: slot('B') };
      return { booted, nextBoot, trialPending: ua || nextBoot !== booted, slots };
    },
    bootedState(env, booted) {
      const { bp, ua } = read(env);
      if (bp === booted) return ua ? 'trial' : 'confirmed';
      return ua ? 'confirmed' : 'rejected';
    },
    primarySlot: (env) => read(env).bp,
    invalidate(env, booted) {
      read(env); // validate before planning
      return settle(booted);
    },
    activateTrial(env, _booted, slot, tries) {
      read(env);
      return [
        ['bootlimit', String(tries)],
        ...point(slot),
        ['upgrade_available', '1'],
        ['bootcount', '0'],
      ];
    },
    cancelTrial(env, booted) {
      const { bp, ua } = read(env);
      return ua && bp !== booted ? settle(booted) : [];
    },
    confirmBooted(env, booted) {
      const { bp, ua } = read(env);
      return ua && bp === booted
        ? [
            ['upgrade_available', '0'],
            ['bootcount', '0'],
          ]
        : [];
    },
    rejectBooted(env, booted) {
      read(env);
      return settle(otherSlot(booted));
    },
    bootStep(env) {
      const { bp, ua, bc, bl } = read(env);
      if (!ua) return { changes: [], slot: bp };
      const count = bc + 1;
      if (bl > 0 && count > bl) {
        // altbootcmd: boot the other partition and stop counting (Mender's mender_altbootcmd).
        return { changes: settle(otherSlot(bp)), slot: otherSlot(bp) };
      }
      return { changes: [['bootcount', String(count)]], slot: bp };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// RAUC-style helpers: an order of bootnames; unknown names (a recovery slot) are preserved.

function parseOrder(raw: string | undefined, fallback: string): string[] {
  return (raw ?? fallback).split(/\s+/).filter((t) => t !== '');
}

function orderSlots(order: readonly string[], names: Record<SlotName, string>): SlotName[] {
  const slots: SlotName[] = [];
  for (const token of order) {
    const slot = SLOT_NAMES.find((s) => names[s] === token);
    if (slot && !slots.includes(slot)) slots.push(slot);
  }
  return slots;
}

function withFirst(order: readonly string[], first: string, second: string): string {
  const rest = order.filter((t) => t !== first && t !== second);
  return [first, second, ...rest].join(' ');
}

function without(order: readonly string[], name: string): string {
  return order.filter((t) => t !== name).join(' ');
}

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
      const other = otherSlot(booted);
      if (st.slots.indexOf(other) === -1 || st.slots.indexOf(other) > st.slots.indexOf(booted))
        return [];
      return [
        [leftVar(other), '0'],
        ['BOOT_ORDER', without(st.order, names[other])],
      ];
    },
    confirmBooted(env, booted) {
      const st = state(env);
      // Drop exhausted slots (a failed trial) so a later "reset all counters" cannot retry them.
      let order = st.order;
      for (const s of SLOT_NAMES)
        if (s !== booted && st.inOrder(s) && !st.bootable(s))
          order = order.filter((t) => t !== names[s]);
      return [
        [leftVar(booted), String(maxTries)],
        ['BOOT_ORDER', order.join(' ')],
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

// ---------------------------------------------------------------------------------------------
// RAUC-style GRUB.

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
      const other = otherSlot(booted);
      if (st.slots.indexOf(other) === -1 || st.slots.indexOf(other) > st.slots.indexOf(booted))
        return [];
      return [
        [okVar(other), '0'],
        [tryVar(other), '0'],
        ['ORDER', without(st.order, names[other])],
      ];
    },
    confirmBooted(env, booted) {
      const st = state(env);
      let order = st.order;
      for (const s of SLOT_NAMES)
        if (s !== booted && st.inOrder(s) && !st.bootable(s))
          order = order.filter((t) => t !== names[s]);
      return [
        [okVar(booted), '1'],
        [tryVar(booted), '0'],
        ['ORDER', order.join(' ')],
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
