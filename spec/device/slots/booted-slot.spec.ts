import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlotErrorCode } from '../../../src/device/slot-controller.js';
import {
  parseKernelCmdline,
  readBootedSlot,
  rootMountSource,
} from '../../../src/device/slots/booted-slot.js';

let dir: string;
let cmdlinePath: string;
const rootDevices = {
  A: ['/dev/mmcblk0p2', 'PARTUUID=aaaa-02'],
  B: ['/dev/mmcblk0p3', 'PARTUUID=aaaa-03'],
};

async function booted(cmdline: string, extra: { mountinfo?: string } = {}) {
  await fs.writeFile(cmdlinePath, cmdline);
  let mountInfoPath: string | null = null;
  if (extra.mountinfo !== undefined) {
    mountInfoPath = path.join(dir, 'mountinfo');
    await fs.writeFile(mountInfoPath, extra.mountinfo);
  }
  return readBootedSlot({ cmdlinePath, mountInfoPath, rootDevices });
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-evidence-'));
  cmdlinePath = path.join(dir, 'cmdline');
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

describe('parseKernelCmdline', () => {
  it('splits parameters, honours double quotes, keeps the last occurrence', () => {
    const p = parseKernelCmdline(
      'console=ttyS0 root=/dev/sda1 "dyndbg=file a.c +p" quiet root=/dev/sda2\n',
    );
    expect(p.get('root')).toBe('/dev/sda2');
    expect(p.get('dyndbg')).toBe('file a.c +p');
    expect(p.get('quiet')).toBe('');
  });
});

describe('readBootedSlot', () => {
  it('uses root= (device path or PARTUUID)', async () => {
    expect(await booted('console=ttyS0 root=/dev/mmcblk0p3 rootwait')).toBe('B');
    expect(await booted('root=PARTUUID=aaaa-02 ro')).toBe('A');
  });

  it('uses rauc.slot= and tufota.slot= markers', async () => {
    expect(await booted('root=/dev/root rauc.slot=B')).toBe('B');
    expect(await booted('tufota.slot=A')).toBe('A');
  });

  it('refuses evidence that disagrees instead of guessing', async () => {
    await expect(booted('root=/dev/mmcblk0p2 rauc.slot=B')).rejects.toMatchObject({
      code: SlotErrorCode.Evidence,
    });
  });

  it('refuses an unknown marker value', async () => {
    await expect(booted('rauc.slot=recovery')).rejects.toMatchObject({
      code: SlotErrorCode.Evidence,
    });
  });

  it('falls back to the mounted root device', async () => {
    const mountinfo = [
      '22 1 0:21 / /proc rw,nosuid - proc proc rw',
      '25 1 179:3 / / ro,relatime shared:1 - ext4 /dev/mmcblk0p3 ro',
      '',
    ].join('\n');
    expect(await booted('console=ttyS0 root=/dev/root', { mountinfo })).toBe('B');
  });

  it('fails with ERR_TUF_SLOT_EVIDENCE when nothing names a slot', async () => {
    await expect(booted('console=ttyS0 root=/dev/nvme0n1p9')).rejects.toMatchObject({
      code: SlotErrorCode.Evidence,
      message: expect.stringMatching(/cannot tell which slot is booted/),
    });
    await fs.rm(cmdlinePath);
    await expect(
      readBootedSlot({ cmdlinePath, mountInfoPath: null, rootDevices }),
    ).rejects.toMatchObject({ code: SlotErrorCode.Evidence });
  });

  it('refuses an oversized command line', async () => {
    await expect(booted(`root=/dev/mmcblk0p2 ${'x'.repeat(70_000)}`)).rejects.toMatchObject({
      code: SlotErrorCode.Evidence,
    });
  });
});

describe('rootMountSource', () => {
  it('takes the last mount of / and decodes octal escapes', () => {
    const text =
      '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:5 / / rw shared:2 - ext4 /dev/my\\040disk rw\n';
    expect(rootMountSource(text)).toBe('/dev/my disk');
    expect(rootMountSource('garbage\n')).toBeUndefined();
  });
});
