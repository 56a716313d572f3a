/**
 * A U-Boot device under QEMU: `qemu-system-aarch64 -M virt` runs the U-Boot built by
 * `.ci/real-boot/setup.sh` (Debian's 2023.01 source with CONFIG_BOOTCOUNT_LIMIT,
 * CONFIG_BOOTCOUNT_ENV and a redundant environment), whose environment lives on an 8 MiB SD
 * card image at 0x400000 and 0x404000 (0x4000 each), as on an eMMC board. The controller reaches
 * the same bytes through a two-line `fw_env.config`. The environment is seeded from the shipped
 * `boot-scripts/uboot-*` files plus the few variables this virtual board needs.
 *
 * Layout and QEMU command adapted from the tufota research notes (research/uboot-qemu/lib.sh,
 * boot-once.sh, 2026-11-22).
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { SlotProfile } from '../../../src/device/slot-controller.js';
import {
  UbootEnvSlotController,
  type UbootEnvSlotControllerOptions,
} from '../../../src/device/slots/uboot-env.js';
import { type BootRecord, decision, type RealBoard, scratch } from './board.js';
import { BOOT_SCRIPTS, bootScript, parseEnvText, runQemu, tool } from './qemu.js';

export const ENV_OFFSETS = [0x400000, 0x404000] as const;
export const ENV_SIZE = 0x4000;
/** QEMU's generic loader puts boot.scr here (as `load mmc … ${scriptaddr} boot.scr` would). */
const SCRIPT_ADDR = '0x40200000';
/** Where a misplaced fw_env.config points (see `misplacedConfig`). */
const MISPLACED_SHIFT = 0x200000;

/** What this virtual board adds to the shipped environment (autoboot at once; RAUC's bootcmd). */
const BOARD_VARS = { bootdelay: '-2' };
const RAUC_BOARD_VARS = { ...BOARD_VARS, bootcmd: `source ${SCRIPT_ADDR}` };

export type UbootProfile = typeof SlotProfile.UbootMender | typeof SlotProfile.UbootRauc;

/** The crc and flags of each environment copy, and which one is newer (libubootenv's rule). */
export async function envCopies(image: string) {
  const handle = await fs.open(image, 'r');
  try {
    const copies = [];
    for (const offset of ENV_OFFSETS) {
      const buf = Buffer.alloc(ENV_SIZE);
      await handle.read(buf, 0, ENV_SIZE, offset);
      copies.push({
        offset,
        crcOk: crc32(buf.subarray(5)) === buf.readUInt32LE(0),
        flags: buf[4] as number,
      });
    }
    const [a, b] = copies as [(typeof copies)[0], (typeof copies)[0]];
    const bNewer =
      !a.crcOk ||
      (b.crcOk &&
        ((b.flags > a.flags && !(b.flags === 255 && a.flags === 0)) ||
          (a.flags === 255 && b.flags === 0)));
    return { copies, newest: bNewer ? 1 : 0 };
  } finally {
    await handle.close();
  }
}

export class UbootBoard implements RealBoard {
  readonly profile: UbootProfile;
  readonly controller: UbootEnvSlotController;
  readonly dir: string;
  readonly slotDevices: RealBoard['slotDevices'];
  readonly sdImage: string;
  readonly configPath: string;
  readonly #uboot: string;
  readonly #cmdlinePath: string;
  readonly #script: string | undefined;

  private constructor(init: {
    profile: UbootProfile;
    controller: UbootEnvSlotController;
    scratch: Awaited<ReturnType<typeof scratch>>;
    sdImage: string;
    configPath: string;
    uboot: string;
    script: string | undefined;
  }) {
    this.profile = init.profile;
    this.controller = init.controller;
    this.dir = init.scratch.dir;
    this.slotDevices = init.scratch.slotDevices;
    this.#cmdlinePath = init.scratch.cmdlinePath;
    this.sdImage = init.sdImage;
    this.configPath = init.configPath;
    this.#uboot = init.uboot;
    this.#script = init.script;
  }

  /**
   * A fresh device in its factory state: environment seeded from the shipped files (copy 0
   * valid, copy 1 blank, as a fresh board), booted once so slot A is running.
   */
  static async create(
    ubootDir: string,
    profile: UbootProfile,
    options: {
      /**
       * Point fw_env.config at a seeded copy U-Boot never loads (0x600000): Linux then reads
       * back its own writes while U-Boot boots from the old ones, the way a NOR flag mismatch
       * behaves (Debian 12's QEMU 7.2 cannot run U-Boot's NOR saveenv, see setup.sh).
       */
      misplacedConfig?: boolean;
      controller?: Partial<UbootEnvSlotControllerOptions>;
    } = {},
  ): Promise<{ board: UbootBoard; firstBoot: BootRecord }> {
    const s = await scratch(profile);
    const sdImage = path.join(s.dir, 'sd.img');
    const configPath = path.join(s.dir, 'fw_env.config');
    const rauc = profile === SlotProfile.UbootRauc;
    const shipped = parseEnvText(
      await bootScript(rauc ? 'uboot-rauc/env.txt' : 'uboot-mender/env.txt'),
    );
    for (const [k, v] of Object.entries(rauc ? RAUC_BOARD_VARS : BOARD_VARS)) shipped.set(k, v);
    const plain = path.join(s.dir, 'env.txt');
    await fs.writeFile(plain, [...shipped].map(([k, v]) => `${k}=${v}\n`).join(''));
    const envBin = path.join(s.dir, 'env.bin');
    await tool('mkenvimage', ['-r', '-s', String(ENV_SIZE), '-o', envBin, plain]);
    await fs.writeFile(sdImage, Buffer.alloc(0));
    await fs.truncate(sdImage, 8 * 1024 * 1024); // QEMU wants a power-of-two SD card
    const linuxOffsets = options.misplacedConfig
      ? ENV_OFFSETS.map((o) => o + MISPLACED_SHIFT)
      : ENV_OFFSETS;
    const handle = await fs.open(sdImage, 'r+');
    try {
      const env = await fs.readFile(envBin);
      await handle.write(env, 0, ENV_SIZE, ENV_OFFSETS[0]);
      if (options.misplacedConfig) await handle.write(env, 0, ENV_SIZE, linuxOffsets[0]);
    } finally {
      await handle.close();
    }
    await fs.writeFile(
      configPath,
      linuxOffsets
        .map((o) => `${sdImage} 0x${o.toString(16)} 0x${ENV_SIZE.toString(16)}\n`)
        .join(''),
    );
    let script: string | undefined;
    if (rauc) {
      script = path.join(s.dir, 'boot.scr');
      await tool('mkimage', [
        '-A',
        'arm64',
        '-O',
        'linux',
        '-T',
        'script',
        '-C',
        'none',
        '-n',
        'tufota-ab',
        '-d',
        `${BOOT_SCRIPTS}uboot-rauc/boot.cmd`,
        script,
      ]);
    }
    const controller = await UbootEnvSlotController.create({
      configPath,
      profile,
      slotDevices: s.slotDevices,
      evidence: {
        cmdlinePath: s.cmdlinePath,
        mountInfoPath: null,
        rootDevices: { A: ['/dev/mmcblk0p2'], B: ['/dev/mmcblk0p3'] },
      },
      envCanary: { bootIdPath: path.join(s.dir, 'boot_id') },
      ...options.controller,
    });
    const board = new UbootBoard({
      profile,
      controller,
      scratch: s,
      sdImage,
      configPath,
      uboot: path.join(ubootDir, 'u-boot.bin'),
      script,
    });
    const firstBoot = await board.powerOn();
    return { board, firstBoot };
  }

  /** One power-on; a reset without a decision (RAUC: no slot left) powers on again. */
  async powerOn(): Promise<BootRecord> {
    let ms = 0;
    for (let runs = 1; runs <= 3; runs++) {
      const run = await runQemu('qemu-system-aarch64', [
        '-M',
        'virt',
        '-cpu',
        'cortex-a57',
        '-m',
        '128M',
        '-smp',
        '1',
        '-nographic',
        '-monitor',
        'none',
        '-serial',
        'stdio',
        '-bios',
        this.#uboot,
        '-device',
        'sdhci-pci',
        '-drive',
        `if=none,id=sdcard,format=raw,file=${this.sdImage}`,
        '-device',
        'sd-card,drive=sdcard',
        ...(this.#script
          ? ['-device', `loader,file=${this.#script},addr=${SCRIPT_ADDR},force-raw=on`]
          : []),
      ]);
      ms += run.ms;
      if (!/Loading Environment from MMC\.\.\. OK/.test(run.log))
        throw new Error(`U-Boot did not load its environment from the SD card:\n${run.log}`);
      const chosen = decision(run.log, 'tufota: booting');
      if (chosen) {
        await fs.writeFile(this.#cmdlinePath, `${chosen.cmdline}\n`);
        // A new boot, a new Linux boot id (read by the environment canary).
        await fs.writeFile(path.join(this.dir, 'boot_id'), `${randomUUID()}\n`);
        return { ...chosen, runs, log: run.log, ms };
      }
      if (!/no slot has attempts left/.test(run.log))
        throw new Error(`U-Boot chose no slot and did not say why:\n${run.log}`);
    }
    throw new Error('U-Boot reset three times without choosing a slot');
  }

  /**
   * A power cut while libubootenv wrote the newest copy: garble its data so its CRC fails (the
   * header and the variables were written, the rest was not). Returns the offset garbled.
   */
  async tearNewestCopy(): Promise<number> {
    const { copies, newest } = await envCopies(this.sdImage);
    const copy = copies[newest] as (typeof copies)[0];
    const handle = await fs.open(this.sdImage, 'r+');
    try {
      const buf = Buffer.alloc(64);
      await handle.read(buf, 0, buf.length, copy.offset + 5);
      for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) ^ 0x5a;
      await handle.write(buf, 0, buf.length, copy.offset + 5);
    } finally {
      await handle.close();
    }
    return copy.offset;
  }

  close(): Promise<void> {
    return fs.rm(this.dir, { recursive: true, force: true });
  }
}
