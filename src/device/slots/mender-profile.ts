/**
 * Mender-style U-Boot boot-environment protocol (`boot_part`, `upgrade_available`, `bootcount`,
 * `bootlimit`) as an {@link EnvProfile}: pure functions over variables, for both the OS side and
 * the bootloader side. It does not touch storage (see `uboot-env.ts`, `file-slot.ts`).
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
import { otherSlot, SLOT_NAMES, type SlotName, type SlotProfile } from '../slot-controller.js';
import {
  assertVariableName,
  checkMapping,
  counter,
  type EnvChange,
  type EnvProfile,
  type EnvVars,
  envError,
} from './env-profile.js';

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
