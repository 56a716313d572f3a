/**
 * Shared fixtures of the slot-adapter tests: temporary directories with slot image files and a
 * fake kernel command line, a recording tool runner, and fake tools that "succeed" without
 * doing anything.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SlotName } from '../../../src/device/slot-controller.js';
import { type RunToolOptions, runTool, type ToolRunner } from '../../../src/device/slots/exec.js';

/** A scratch directory with two slot images and a cmdline saying `booted`. */
export interface Rig {
  dir: string;
  slotDevices: Record<SlotName, string>;
  cmdlinePath: string;
  /** Pretend the system booted `slot` (write the per-boot evidence). */
  boot(slot: SlotName): Promise<void>;
  cleanup(): Promise<void>;
}

/** Header the test images carry; `imageStartsWith(GOOD_IMAGE)` accepts them. */
export const GOOD_IMAGE = 'TUFOTA-IMAGE\n';

export async function makeRig(booted: SlotName = 'A'): Promise<Rig> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-slots-'));
  const slotDevices = { A: path.join(dir, 'slot-a.img'), B: path.join(dir, 'slot-b.img') };
  await fs.writeFile(slotDevices.A, `${GOOD_IMAGE}version 1\n`);
  await fs.writeFile(slotDevices.B, `${GOOD_IMAGE}version 0\n`);
  const cmdlinePath = path.join(dir, 'cmdline');
  const rig: Rig = {
    dir,
    slotDevices,
    cmdlinePath,
    boot: (slot) => fs.writeFile(cmdlinePath, `console=ttyS0 root=${slotDevices[slot]} ro\n`),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
  await rig.boot(booted);
  return rig;
}

/** Evidence options for a rig: fake cmdline, no mount table. */
export function evidenceOf(rig: Rig) {
  return { cmdlinePath: rig.cmdlinePath, mountInfoPath: null };
}

/** A tool runner that records every call (basename and args) and then runs the real tool. */
export function recordingRunner(): {
  run: ToolRunner;
  calls: Array<{ tool: string; args: string[]; input?: string }>;
} {
  const calls: Array<{ tool: string; args: string[]; input?: string }> = [];
  const run: ToolRunner = (file, args, options?: RunToolOptions) => {
    calls.push({
      tool: path.basename(file),
      args: [...args],
      ...(options?.input !== undefined ? { input: options.input } : {}),
    });
    return runTool(file, args, options);
  };
  return { run, calls };
}

/** Write an executable shell script (a fake tool) into `dir`. */
export async function fakeTool(dir: string, name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Flip `count` bytes at `offset` of `file` in place. */
export async function flipBytes(file: string, offset: number, count = 4): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    const buf = Buffer.alloc(count);
    await handle.read(buf, 0, count, offset);
    for (let i = 0; i < count; i++) buf[i] = (buf[i] as number) ^ 0xff;
    await handle.write(buf, 0, count, offset);
  } finally {
    await handle.close();
  }
}
