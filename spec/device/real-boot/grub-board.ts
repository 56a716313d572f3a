/**
 * A GRUB device under QEMU: `qemu-system-x86_64` with SeaBIOS boots a 9 MiB disk image whose
 * MBR holds Debian's GRUB (`grub-pc-bin`: boot.img, and a core.img made by `grub-mkimage`) and
 * whose FAT partition holds `/boot/grub/grub.cfg`, the shipped `tufota-ab.cfg` and `grubenv`.
 * GRUB reads and writes grubenv there itself (`load_env` / `save_env`), as on a device.
 *
 * The controller works on a grubenv file in the scratch directory (the device's mounted
 * `/boot/grub/grubenv`); it is copied into the image before each power-on and back after it
 * (mtools), which is what sharing one partition between Linux and GRUB amounts to.
 *
 * `grub.cfg` is the shipped `boot-scripts/grub-rauc/grub.cfg` up to its menu entries, after two
 * lines that send GRUB's console to the serial port; its menu entries are replaced by entries
 * that print the kernel command line the shipped entry would pass, then reset.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  GrubEnvSlotController,
  type GrubEnvSlotControllerOptions,
} from '../../../src/device/slots/grub-env.js';
import { type BootRecord, decision, type RealBoard, scratch } from './board.js';
import { BOOT_SCRIPTS, bootScript, runQemu, tool } from './qemu.js';

/** Debian `dosfstools` installs it in /usr/sbin, which a non-root PATH may lack. */
export const MKFS_VFAT = '/usr/sbin/mkfs.vfat';
/** GRUB's i386-pc files (Debian `grub-pc-bin`). */
export const GRUB_PC_DIR = '/usr/lib/grub/i386-pc';
/** The FAT partition starts at 1 MiB (sector 2048), after the MBR and core.img. */
const PART_OFFSET = 1024 * 1024;
const PART_SECTORS = 16384;
/** Modules built into core.img, so GRUB needs no module directory on the disk. */
const MODULES = [
  'biosdisk',
  'part_msdos',
  'fat',
  'normal',
  'configfile',
  'loadenv',
  'echo',
  'test',
  'serial',
  'terminal',
  'reboot',
];
/** The initial grubenv of the integrator guide. */
export const INITIAL_GRUBENV = ['ORDER=A B', 'A_OK=1', 'A_TRY=0', 'B_OK=0', 'B_TRY=0'];

/** Remove terminal escape sequences GRUB's menu code prints. */
function plain(log: string): string {
  return log.replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, '');
}

/** The board's grub.cfg, built from the shipped one (see the module comment). */
async function boardGrubCfg(): Promise<string> {
  const shipped = await bootScript('grub-rauc/grub.cfg');
  const head = shipped.slice(0, shipped.indexOf('\nmenuentry') + 1);
  const entries: string[] = [];
  for (const m of shipped.matchAll(/menuentry "Slot ([AB])" \{\s*\n\s*linux (\S+) (.*)\n/g)) {
    // The command line the shipped entry passes: everything after the kernel path.
    entries.push(
      `menuentry "Slot ${m[1]}" {\n    echo "tufota: booted slot ${m[1]}: ${m[3]}"\n    reboot\n}\n`,
    );
  }
  if (entries.length !== 2) throw new Error('the shipped grub.cfg must have two "Slot X" entries');
  return `serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n${head}${entries.join('')}`;
}

export class GrubBoard implements RealBoard {
  readonly profile = 'grub-rauc';
  readonly controller: GrubEnvSlotController;
  readonly dir: string;
  readonly slotDevices: RealBoard['slotDevices'];
  readonly grubenv: string;
  readonly disk: string;
  readonly #cmdlinePath: string;

  private constructor(
    s: Awaited<ReturnType<typeof scratch>>,
    controller: GrubEnvSlotController,
    grubenv: string,
    disk: string,
  ) {
    this.controller = controller;
    this.dir = s.dir;
    this.slotDevices = s.slotDevices;
    this.#cmdlinePath = s.cmdlinePath;
    this.grubenv = grubenv;
    this.disk = disk;
  }

  /** A fresh device: the guide's initial grubenv, booted once (slot A). */
  static async create(
    extra: Partial<GrubEnvSlotControllerOptions> = {},
  ): Promise<{ board: GrubBoard; firstBoot: BootRecord }> {
    const s = await scratch('grub');
    const grubenv = path.join(s.dir, 'grubenv');
    await tool('grub-editenv', [grubenv, 'create']);
    await tool('grub-editenv', [grubenv, 'set', ...INITIAL_GRUBENV]);

    const part = path.join(s.dir, 'part.img');
    const cfg = path.join(s.dir, 'grub.cfg');
    await fs.writeFile(cfg, await boardGrubCfg());
    await tool(MKFS_VFAT, ['-C', '-n', 'TUFOTA', part, String(PART_SECTORS / 2)]);
    await tool('mmd', ['-i', part, '::/boot', '::/boot/grub']);
    await tool('mcopy', [
      '-i',
      part,
      cfg,
      `${BOOT_SCRIPTS}grub-rauc/tufota-ab.cfg`,
      grubenv,
      '::/boot/grub/',
    ]);
    const core = path.join(s.dir, 'core.img');
    await tool('grub-mkimage', [
      '-O',
      'i386-pc',
      '-d',
      GRUB_PC_DIR,
      '-o',
      core,
      '-p',
      '(hd0,msdos1)/boot/grub',
      ...MODULES,
    ]);

    // MBR: GRUB's boot.img (its default blocklist points at core.img in sector 1), one FAT16
    // partition entry, the boot signature; then core.img; then the partition at 1 MiB.
    const head = Buffer.alloc(PART_OFFSET);
    (await fs.readFile(path.join(GRUB_PC_DIR, 'boot.img'))).copy(head, 0, 0, 440);
    head[446] = 0x80; // active
    head[446 + 4] = 0x06; // FAT16
    head.writeUInt32LE(PART_OFFSET / 512, 446 + 8);
    head.writeUInt32LE(PART_SECTORS, 446 + 12);
    head[510] = 0x55;
    head[511] = 0xaa;
    const coreImg = await fs.readFile(core);
    if (coreImg.length > PART_OFFSET - 512) throw new Error('core.img does not fit before 1 MiB');
    coreImg.copy(head, 512);
    const disk = path.join(s.dir, 'disk.img');
    await fs.writeFile(disk, Buffer.concat([head, await fs.readFile(part)]));
    await fs.rm(part);

    const controller = await GrubEnvSlotController.create({
      grubenvPath: grubenv,
      slotDevices: s.slotDevices,
      evidence: {
        cmdlinePath: s.cmdlinePath,
        mountInfoPath: null,
        rootDevices: { A: ['/dev/sda2'], B: ['/dev/sda3'] },
      },
      ...extra,
    });
    const board = new GrubBoard(s, controller, grubenv, disk);
    return { board, firstBoot: await board.powerOn() };
  }

  async powerOn(): Promise<BootRecord> {
    const image = `${this.disk}@@${PART_OFFSET}`;
    await tool('mcopy', ['-o', '-i', image, this.grubenv, '::/boot/grub/grubenv']);
    const run = await runQemu('qemu-system-x86_64', [
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      'stdio',
      '-m',
      '64M',
      '-drive',
      `file=${this.disk},format=raw,if=ide`,
    ]);
    const log = plain(run.log);
    const chosen = decision(log, 'tufota: booted');
    if (!chosen) throw new Error(`GRUB booted no slot entry:\n${log}`);
    // Not anchored at line start: the serial console may print it right after "Welcome to GRUB".
    const script = /tufota: booting slot ([AB]) \(entry (\d)\)$/m.exec(log);
    if (script?.[1] !== chosen.slot)
      throw new Error(`tufota-ab.cfg chose ${script?.[1]} but GRUB booted ${chosen.slot}:\n${log}`);
    if (/error:/.test(log)) throw new Error(`GRUB reported an error:\n${log}`);
    // What GRUB saved goes back to the "mounted" file the controller works on.
    await tool('mcopy', ['-o', '-n', '-i', image, '::/boot/grub/grubenv', this.grubenv]);
    await fs.writeFile(this.#cmdlinePath, `${chosen.cmdline}\n`);
    return { ...chosen, runs: 1, log, ms: run.ms };
  }

  close(): Promise<void> {
    return fs.rm(this.dir, { recursive: true, force: true });
  }
}
