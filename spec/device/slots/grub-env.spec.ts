/**
 * GrubEnvSlotController against the real `grub-editenv` (Debian `grub-common`) on grubenv files in
 * temporary directories. A missing tool fails these tests (CI installs the package).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlotErrorCode } from '../../../src/device/slot-controller.js';
import { BootSimulator, imageStartsWith } from '../../../src/device/slots/boot-simulator.js';
import { runTool } from '../../../src/device/slots/exec.js';
import {
  GrubEnvSlotController,
  type GrubEnvSlotControllerOptions,
} from '../../../src/device/slots/grub-env.js';
import { systemTools } from '../../helpers/system-tools.js';
import { evidenceOf, fakeTool, GOOD_IMAGE, makeRig, type Rig, recordingRunner } from './helpers.js';

const tools = systemTools('spec/device/slots/grub-env.spec.ts', ['grub-editenv']);

let rig: Rig;
let grubenvPath: string;

async function list(): Promise<Record<string, string>> {
  const { stdout } = await runTool('grub-editenv', [grubenvPath, 'list']);
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function create(extra: Partial<GrubEnvSlotControllerOptions> = {}): Promise<GrubEnvSlotController> {
  return GrubEnvSlotController.create({
    grubenvPath,
    slotDevices: rig.slotDevices,
    evidence: evidenceOf(rig),
    ...extra,
  });
}

beforeEach(async () => {
  rig = await makeRig('A');
  grubenvPath = path.join(rig.dir, 'grubenv');
  await runTool('grub-editenv', [grubenvPath, 'create']);
  await runTool('grub-editenv', [
    grubenvPath,
    'set',
    'ORDER=A B',
    'A_OK=1',
    'A_TRY=0',
    'B_OK=1',
    'B_TRY=0',
  ]);
});
afterEach(() => rig.cleanup());

describe.skipIf(tools.skip)('the real grub-editenv', () => {
  it('is installed (apt-get install grub-common)', async () => {
    expect((await runTool('grub-editenv', ['--version'])).stdout).toMatch(/GRUB/);
  });

  it('creates a missing file on `list` (why the store checks the block first)', async () => {
    const missing = path.join(rig.dir, 'missing');
    await runTool('grub-editenv', [missing, 'list']);
    expect((await fs.stat(missing)).size).toBe(1024);
  });
});

describe.skipIf(tools.skip)('GrubEnvSlotController', () => {
  it('reports capabilities and the initial status', async () => {
    const slots = await create();
    expect(slots.capabilities()).toEqual({
      profile: 'grub-rauc',
      maxTries: 1,
      atomicActivation: true,
      confirmEveryBoot: true,
    });
    expect(await slots.status()).toEqual({
      booted: 'A',
      nextBoot: 'A',
      trialPending: false,
      slots: {
        A: { bootable: true, confirmed: true, triesLeft: 1 },
        B: { bootable: true, confirmed: true, triesLeft: 1 },
      },
    });
  });

  it('runs a whole cycle with GRUB simulated over the real grubenv', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ runTool: run });
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    expect(await list()).toMatchObject({ ORDER: 'A', B_OK: '0', B_TRY: '0' });
    await fs.writeFile(rig.slotDevices.B, `${GOOD_IMAGE}version 2\n`);
    calls.length = 0;
    await slots.activateTrial('B', { tries: 1 });
    const sets = calls.filter((c) => c.args.includes('set'));
    expect(sets).toHaveLength(1); // ONE grub-editenv set call with every variable
    expect(sets[0]?.args.slice(1)).toEqual(['set', 'B_OK=1', 'ORDER=B A']);
    expect(await list()).toMatchObject({ ORDER: 'B A', B_OK: '1', B_TRY: '0' });

    expect(await sim.simulateBoot()).toMatchObject({ booted: 'B', fellBack: false });
    expect(await list()).toMatchObject({ B_TRY: '1' });
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'A', trialPending: true });
    await slots.confirmBooted();
    await slots.confirmBooted();
    expect(await list()).toMatchObject({ ORDER: 'B A', B_OK: '1', B_TRY: '0' });
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'B', trialPending: false });
  });

  it('falls back to A when B fails to boot; confirming A drops B from ORDER', async () => {
    const slots = await create();
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    await fs.writeFile(rig.slotDevices.B, 'broken');
    await slots.activateTrial('B', { tries: 1 });
    expect(await sim.simulateBoot()).toMatchObject({ booted: 'A', fellBack: true, attempts: 2 });
    await slots.confirmBooted();
    expect(await list()).toMatchObject({ ORDER: 'A', A_OK: '1', A_TRY: '0' });
  });

  it('rejectBooted: next boot is A', async () => {
    const slots = await create();
    await slots.activateTrial('B', { tries: 1 });
    await new BootSimulator(slots).simulateBoot();
    await slots.rejectBooted();
    await slots.rejectBooted();
    expect(await list()).toMatchObject({ ORDER: 'A', B_OK: '0', B_TRY: '0' });
    expect(await new BootSimulator(slots).simulateBoot()).toMatchObject({ booted: 'A' });
  });

  it('refuses the booted slot, and tries above 1', async () => {
    const slots = await create();
    await expect(slots.invalidate('A')).rejects.toMatchObject({ code: SlotErrorCode.BootedSlot });
    await expect(slots.activateTrial('B', { tries: 2 })).rejects.toMatchObject({
      code: SlotErrorCode.Argument,
    });
  });

  it('replaces the file by rename (new inode) and writes nothing when already in place', async () => {
    const slots = await create();
    const ino0 = (await fs.stat(grubenvPath)).ino;
    await slots.invalidate('B');
    const ino1 = (await fs.stat(grubenvPath)).ino;
    expect(ino1).not.toBe(ino0);
    expect((await fs.stat(grubenvPath)).size).toBe(1024);
    await slots.invalidate('B');
    expect((await fs.stat(grubenvPath)).ino).toBe(ino1);
    expect((await fs.readdir(rig.dir)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('a grub-editenv that exits 0 without writing is caught and the live file is untouched', async () => {
    const real = (await runTool('sh', ['-c', 'command -v grub-editenv'])).stdout.trim();
    const fake = await fakeTool(
      rig.dir,
      'grub-editenv',
      `if [ "$2" = set ]; then exit 0; fi\nexec ${real} "$@"`,
    );
    const slots = await create({ grubEditenv: fake });
    const before = await fs.readFile(grubenvPath);
    await expect(slots.invalidate('B')).rejects.toMatchObject({ code: SlotErrorCode.ReadBack });
    expect(await fs.readFile(grubenvPath)).toEqual(before);
    expect((await fs.readdir(rig.dir)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('a failing grub-editenv is a SlotError with its stderr; the env is unchanged', async () => {
    const fake = await fakeTool(
      rig.dir,
      'grub-editenv',
      'echo "grub-editenv: error: disk on fire." >&2; exit 1',
    );
    const slots = await create({ grubEditenv: fake });
    const before = await fs.readFile(grubenvPath);
    await expect(slots.invalidate('B')).rejects.toMatchObject({
      code: SlotErrorCode.ToolFailed,
      message: expect.stringMatching(/disk on fire/),
    });
    expect(await fs.readFile(grubenvPath)).toEqual(before);
  });

  it('a missing grubenv is an error and is NOT created', async () => {
    await fs.rm(grubenvPath);
    const slots = await create();
    await expect(slots.status()).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(/grub-editenv .* create/),
    });
    await expect(fs.stat(grubenvPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a truncated or foreign block is refused', async () => {
    await fs.writeFile(grubenvPath, '');
    const slots = await create();
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
    await fs.writeFile(grubenvPath, Buffer.alloc(1024, 0x41));
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
  });
});

describe('the agent reads the block as GRUB does (not `grub-editenv list`)', () => {
  /** Store a value holding a newline, as any other grubenv user (or an attacker) might. */
  async function smuggleOrder(): Promise<void> {
    await runTool('grub-editenv', [grubenvPath, 'set', 'B_OK=1', 'B_TRY=0']);
    await runTool('grub-editenv', [grubenvPath, 'set', 'NOTE=hello\nORDER=B A']);
    // `list` un-escapes the value and prints a second ORDER line GRUB never sees.
    expect((await runTool('grub-editenv', [grubenvPath, 'list'])).stdout).toMatch(
      /^ORDER=A B$[\s\S]*^ORDER=B A$/m,
    );
  }

  it('a value with an escaped newline does not change the ORDER the agent sees', async () => {
    await smuggleOrder();
    const slots = await create();
    // GRUB's grub_envblk_iterate sees ORDER="A B": the next boot is A.
    expect(await slots.status()).toMatchObject({ booted: 'A', nextBoot: 'A' });
    expect(await new BootSimulator(slots).simulateBoot()).toMatchObject({ booted: 'A' });
  });

  it('a write keeps the smuggled value opaque and reads back what GRUB will see', async () => {
    await smuggleOrder();
    const slots = await create();
    await slots.activateTrial('B', { tries: 1 });
    expect(await slots.status()).toMatchObject({ nextBoot: 'B' });
    const raw = await fs.readFile(grubenvPath, 'latin1');
    expect(raw).toContain('NOTE=hello\\\nORDER=B A\n');
  });

  it('status and reads spawn no grub-editenv at all', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ runTool: run });
    await slots.status();
    await slots.bootedSlot();
    expect(calls).toEqual([]);
  });
});
