/**
 * UbootEnvSlotController against the real libubootenv tools (Debian `u-boot-tools`) on env images
 * in temporary directories. A missing tool fails these tests (CI installs the package).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlotErrorCode } from '../../../src/device/slot-controller.js';
import { BootSimulator, imageStartsWith } from '../../../src/device/slots/boot-simulator.js';
import { runTool } from '../../../src/device/slots/exec.js';
import {
  parseFwEnvConfig,
  UbootEnvSlotController,
  type UbootEnvSlotControllerOptions,
} from '../../../src/device/slots/uboot-env.js';
import { systemTools } from '../../helpers/system-tools.js';
import {
  evidenceOf,
  fakeTool,
  flipBytes,
  GOOD_IMAGE,
  makeRig,
  type Rig,
  recordingRunner,
} from './helpers.js';

const tools = systemTools('spec/device/slots/uboot-env.spec.ts', [
  'fw_setenv',
  'fw_printenv',
  'mkenvimage',
]);

const SIZE = 0x4000;
const MENDER_DEFAULTS = {
  boot_part: '2',
  upgrade_available: '0',
  bootcount: '0',
  bootlimit: '1',
  bootcmd: 'run mender_boot',
};
const RAUC_DEFAULTS = { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' };

let rig: Rig;
let envPath: string;
let configPath: string;

async function init(variables: Record<string, string>, redundant = false): Promise<void> {
  await UbootEnvSlotController.initEnv({
    envPath,
    configPath,
    variables,
    size: SIZE,
    redundant,
    overwrite: true,
  });
}

function create(
  extra: Partial<UbootEnvSlotControllerOptions> = {},
): Promise<UbootEnvSlotController> {
  return UbootEnvSlotController.create({
    configPath,
    slotDevices: rig.slotDevices,
    evidence: evidenceOf(rig),
    ...extra,
  });
}

/** All variables, as the real fw_printenv prints them. */
async function printenv(config = configPath): Promise<Record<string, string>> {
  const { stdout } = await runTool('fw_printenv', ['-c', config]);
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

beforeEach(async () => {
  rig = await makeRig('A');
  envPath = path.join(rig.dir, 'uboot.env');
  configPath = path.join(rig.dir, 'fw_env.config');
});
afterEach(() => rig.cleanup());

describe.skipIf(tools.skip)('the real tools', () => {
  it('are installed (apt-get install u-boot-tools)', async () => {
    expect((await runTool('fw_printenv', ['-V'])).stdout).toMatch(/\d+\.\d+/);
    expect((await runTool('mkenvimage', ['-V'])).stdout).toMatch(/mkenvimage/);
  });

  it('silently ignore `name value` script lines and exit 0 (why every write is read back)', async () => {
    await init(MENDER_DEFAULTS);
    await runTool('fw_setenv', ['-c', configPath, '-s', '-'], { input: 'boot_part 3\n' });
    expect((await printenv()).boot_part).toBe('2');
  });
});

describe.skipIf(tools.skip)('UbootEnvSlotController, Mender profile', () => {
  beforeEach(() => init(MENDER_DEFAULTS));

  it('initEnv writes an image fw_printenv reads and a one-copy config', async () => {
    expect(await printenv()).toMatchObject(MENDER_DEFAULTS);
    expect(parseFwEnvConfig(await fs.readFile(configPath, 'utf8'), configPath)).toEqual([
      { device: envPath, offset: '0x0', size: '0x4000' },
    ]);
    const slots = await create();
    expect(slots.capabilities()).toEqual({
      profile: 'uboot-mender',
      maxTries: 3,
      atomicActivation: false,
      redundantEnv: false,
      confirmEveryBoot: false,
    });
  });

  it('runs a whole cycle with U-Boot simulated over the real env: trial, boot, confirm', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ runTool: run });
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    await fs.writeFile(rig.slotDevices.B, `${GOOD_IMAGE}version 2\n`);
    calls.length = 0;
    await slots.activateTrial('B', { tries: 1 });
    // ONE fw_setenv call carrying every variable, as name=value lines.
    const sets = calls.filter((c) => c.tool === 'fw_setenv');
    expect(sets).toHaveLength(1);
    expect(sets[0]?.args).toEqual(['-c', configPath, '-s', '-']);
    expect(sets[0]?.input).toBe('boot_part=3\nupgrade_available=1\n');
    expect(await printenv()).toMatchObject({
      boot_part: '3',
      upgrade_available: '1',
      bootcount: '0',
      bootlimit: '1',
    });

    expect(await sim.simulateBoot()).toMatchObject({ booted: 'B', fellBack: false });
    expect((await printenv()).bootcount).toBe('1');
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'A', trialPending: true }); // one more boot falls back
    await slots.confirmBooted();
    expect(await printenv()).toMatchObject({
      boot_part: '3',
      upgrade_available: '0',
      bootcount: '0',
    });
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'B', trialPending: false });
    expect((await sim.simulateBoot()).booted).toBe('B');
  });

  it('falls back through bootlimit/altbootcmd when the new slot fails to boot', async () => {
    const slots = await create();
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    await fs.writeFile(rig.slotDevices.B, 'torn image');
    await slots.activateTrial('B', { tries: 2 });
    expect(await sim.simulateBoot()).toMatchObject({ booted: 'A', fellBack: true, attempts: 3 });
    expect(await printenv()).toMatchObject({ boot_part: '2', upgrade_available: '0' });
    expect(await slots.status()).toMatchObject({ booted: 'A', nextBoot: 'A', trialPending: false });
  });

  it('rejectBooted switches boot_part back in one write and the next boot is the old slot', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ runTool: run });
    await slots.activateTrial('B', { tries: 3 });
    await new BootSimulator(slots).simulateBoot();
    calls.length = 0;
    await slots.rejectBooted();
    await slots.rejectBooted();
    expect(calls.filter((c) => c.tool === 'fw_setenv').map((c) => c.input)).toEqual([
      'boot_part=2\nupgrade_available=0\nbootcount=0\n',
    ]);
    expect(await new BootSimulator(slots).simulateBoot()).toMatchObject({
      booted: 'A',
      fellBack: false,
    });
  });

  it('is idempotent: a repeated verb runs no fw_setenv at all', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ runTool: run });
    await slots.invalidate('B');
    await slots.activateTrial('B', { tries: 1 });
    await slots.activateTrial('B', { tries: 1 });
    await slots.cancelTrial();
    await slots.cancelTrial();
    await slots.confirmBooted();
    expect(calls.filter((c) => c.tool === 'fw_setenv')).toHaveLength(2); // activate + cancel
  });

  it('maps A/B to device-specific values and writes a hex mirror in the same script', async () => {
    await init({ mender_boot_part: '5', upgrade_available: '0', bootcount: '0', bootlimit: '1' });
    const slots = await create({
      mender: {
        bootPartVariable: 'mender_boot_part',
        bootPartHexVariable: 'mender_boot_part_hex',
        bootPartValues: { A: '5', B: '12' },
      },
    });
    await slots.activateTrial('B', { tries: 1 });
    expect(await printenv()).toMatchObject({
      mender_boot_part: '12',
      mender_boot_part_hex: 'c',
      upgrade_available: '1',
    });
  });

  it('refuses the booted slot and leaves the env unchanged', async () => {
    const slots = await create();
    const before = await fs.readFile(envPath);
    await expect(slots.invalidate('A')).rejects.toMatchObject({ code: SlotErrorCode.BootedSlot });
    await expect(slots.activateTrial('A', { tries: 1 })).rejects.toMatchObject({
      code: SlotErrorCode.BootedSlot,
    });
    expect(await fs.readFile(envPath)).toEqual(before);
  });

  it('detects a fw_setenv that exits 0 without writing (read back)', async () => {
    const fake = await fakeTool(rig.dir, 'fw_setenv', 'cat >/dev/null; exit 0');
    const slots = await create({ fwSetenv: fake });
    const error = await slots.activateTrial('B', { tries: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: SlotErrorCode.ReadBack,
      message: expect.stringMatching(/boot_part: wrote 3, read 2/),
    });
  });

  it('fw_setenv failing on bogus config: SlotError with the tool output, env unchanged', async () => {
    const slots = await create();
    const before = await fs.readFile(envPath);
    await fs.writeFile(configPath, 'this is not a config\n');
    const error = await slots.activateTrial('B', { tries: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: SlotErrorCode.ToolFailed,
      message: expect.stringMatching(/fw_printenv .*status 234/),
    });
    expect(await fs.readFile(envPath)).toEqual(before);
  });

  it('a missing or unparsable config is a clear SlotError at create()', async () => {
    await expect(
      UbootEnvSlotController.create({
        configPath: path.join(rig.dir, 'none'),
        slotDevices: rig.slotDevices,
      }),
    ).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
    });
    await fs.writeFile(configPath, '/a 0x0 0x4000\n/b 0x0 0x4000\n/c 0x0 0x4000\n');
    await expect(create()).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(/1 or 2/),
    });
  });

  it('a missing env file is a clear SlotError naming the file and mkenvimage', async () => {
    const slots = await create();
    await fs.rm(envPath);
    await expect(slots.status()).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(new RegExp(`${envPath}.*missing.*mkenvimage`)),
    });
  });

  it('blank storage is refused with a pointer to mkenvimage / initEnv', async () => {
    await fs.writeFile(envPath, Buffer.alloc(SIZE));
    const slots = await create();
    await expect(slots.status()).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(/mkenvimage.*initEnv/),
    });
    await expect(slots.invalidate('B')).rejects.toMatchObject({ code: SlotErrorCode.Environment });
    expect(await fs.readFile(envPath)).toEqual(Buffer.alloc(SIZE));
  });

  it('a corrupted single copy (bad CRC) is reported, not silently replaced by defaults', async () => {
    const slots = await create();
    await flipBytes(envPath, 8);
    await expect(slots.status()).rejects.toMatchObject({ code: SlotErrorCode.Environment });
  });

  it('initEnv refuses to overwrite existing files', async () => {
    await expect(
      UbootEnvSlotController.initEnv({ envPath, configPath, variables: MENDER_DEFAULTS }),
    ).rejects.toMatchObject({
      code: SlotErrorCode.State,
    });
  });

  it('refuses values that would be mangled (spaces at the edges, newlines) before running a tool', async () => {
    await expect(init({ boot_part: '2\nbootcmd=evil' })).rejects.toMatchObject({
      code: SlotErrorCode.Argument,
    });
    await expect(init({ 'bad name': '1' })).rejects.toMatchObject({ code: SlotErrorCode.Argument });
  });
});

describe.skipIf(tools.skip)('UbootEnvSlotController, redundant environment', () => {
  beforeEach(() => init(MENDER_DEFAULTS, true));

  it('has two copies, reports atomic activation and alternates writes between the copies', async () => {
    const slots = await create();
    expect(slots.capabilities()).toMatchObject({ redundantEnv: true, atomicActivation: true });
    const copy = async (i: number) =>
      (await fs.readFile(envPath)).subarray(i * SIZE, (i + 1) * SIZE);
    const [a0, b0] = [await copy(0), await copy(1)];
    await slots.activateTrial('B', { tries: 1 });
    const [a1, b1] = [await copy(0), await copy(1)];
    expect(a1.equals(a0) !== b1.equals(b0)).toBe(true); // exactly one copy rewritten
    await slots.cancelTrial();
    const [a2, b2] = [await copy(0), await copy(1)];
    expect(a2.equals(a1) !== b2.equals(b1)).toBe(true);
    expect(a2.equals(a1)).toBe(!a1.equals(a0)); // the other copy this time
  });

  it('reads from the good copy when one is corrupted, and the next write heals it', async () => {
    const slots = await create();
    await slots.activateTrial('B', { tries: 1 }); // copies now differ: one is newer
    await slots.cancelTrial();
    await slots.activateTrial('B', { tries: 1 }); // newest copy says boot_part=3
    const file = await fs.readFile(envPath);
    const newer = file[4] === Math.max(file[4] as number, file[SIZE + 4] as number) ? 0 : 1; // flag byte: counter
    const older = 1 - newer;
    await flipBytes(envPath, older * SIZE + 10);
    expect(await slots.status()).toMatchObject({ nextBoot: 'B', trialPending: true });
    await slots.cancelTrial(); // written over the corrupted copy
    const healed = await fs.readFile(envPath);
    // both copies pass fw_printenv again: corrupting the other one still leaves a readable env
    expect(
      healed
        .subarray(older * SIZE, older * SIZE + SIZE)
        .equals(file.subarray(older * SIZE, older * SIZE + SIZE)),
    ).toBe(false);
    await flipBytes(envPath, newer * SIZE + 10);
    expect(await slots.status()).toMatchObject({ nextBoot: 'A', trialPending: false });
  });

  it('a newest copy torn by a power cut falls back to the previous state, never to garbage', async () => {
    const slots = await create();
    await slots.activateTrial('B', { tries: 1 });
    const file = await fs.readFile(envPath);
    const newest = (file[4] as number) > (file[SIZE + 4] as number) ? 0 : 1;
    await flipBytes(envPath, newest * SIZE + 20);
    // The activation is lost as a whole: A stays primary, no half-applied variables.
    expect(await printenv()).toMatchObject({ boot_part: '2', upgrade_available: '0' });
    expect(await slots.status()).toMatchObject({ nextBoot: 'A', trialPending: false });
  });

  it('fw_setenv failing to store (second copy on /dev/full): SlotError, env unchanged', async () => {
    await fs.writeFile(configPath, `${envPath} 0x0 0x4000\n/dev/full 0x0 0x4000\n`);
    const slots = await create();
    expect(await slots.status()).toMatchObject({ nextBoot: 'A' });
    const before = await fs.readFile(envPath);
    const error = await slots.activateTrial('B', { tries: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: SlotErrorCode.ToolFailed,
      message: expect.stringMatching(/fw_setenv .*exited with status/),
    });
    expect(await fs.readFile(envPath)).toEqual(before);
    expect(await slots.status()).toMatchObject({ nextBoot: 'A', trialPending: false });
  });

  it('both copies corrupted: refused with the mkenvimage hint', async () => {
    const slots = await create();
    await flipBytes(envPath, 10);
    await flipBytes(envPath, SIZE + 10);
    await expect(slots.status()).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(/mkenvimage/),
    });
  });
});

describe.skipIf(tools.skip)('UbootEnvSlotController, RAUC profile', () => {
  beforeEach(() => init(RAUC_DEFAULTS, true));

  function rauc() {
    return create({ profile: 'uboot-rauc' });
  }

  it('invalidate zeroes the tries and drops the slot from BOOT_ORDER in one write', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ profile: 'uboot-rauc', runTool: run });
    await slots.invalidate('B');
    await slots.invalidate('B');
    expect(calls.filter((c) => c.tool === 'fw_setenv').map((c) => c.input)).toEqual([
      'BOOT_B_LEFT=0\nBOOT_ORDER=A\n',
    ]);
    expect(await slots.status()).toMatchObject({
      nextBoot: 'A',
      slots: { B: { bootable: false, triesLeft: 0 } },
    });
  });

  it('activation writes the tries first and the order last, in ONE script', async () => {
    const { run, calls } = recordingRunner();
    const slots = await create({ profile: 'uboot-rauc', runTool: run });
    await slots.invalidate('B');
    calls.length = 0;
    await slots.activateTrial('B', { tries: 2 });
    expect(calls.filter((c) => c.tool === 'fw_setenv').map((c) => c.input)).toEqual([
      'BOOT_B_LEFT=2\nBOOT_ORDER=B A\n',
    ]);
    expect(await printenv()).toMatchObject({
      BOOT_ORDER: 'B A',
      BOOT_B_LEFT: '2',
      BOOT_A_LEFT: '3',
    });
  });

  it('full cycle: trial boots B, confirm resets its tries to the maximum', async () => {
    const slots = await rauc();
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    await slots.activateTrial('B', { tries: 3 });
    expect(await sim.simulateBoot()).toMatchObject({ booted: 'B', fellBack: false });
    expect(await fs.readFile(rig.cmdlinePath, 'utf8')).toMatch(/rauc\.slot=B/);
    expect(await slots.status()).toMatchObject({
      booted: 'B',
      trialPending: true,
      slots: { B: { triesLeft: 2, confirmed: false } },
    });
    await slots.confirmBooted();
    expect(await printenv()).toMatchObject({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '3' });
    expect(await slots.status()).toMatchObject({ booted: 'B', nextBoot: 'B', trialPending: false });
  });

  it('a broken new slot exhausts its tries and U-Boot falls back to A', async () => {
    const slots = await rauc();
    const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
    await slots.invalidate('B');
    await fs.writeFile(rig.slotDevices.B, 'not bootable');
    await slots.activateTrial('B', { tries: 2 });
    expect(await sim.simulateBoot()).toMatchObject({ booted: 'A', fellBack: true, attempts: 3 });
    // The old slot comes up unconfirmed (RAUC counts every boot); confirming drops exhausted B.
    expect(await slots.status()).toMatchObject({ booted: 'A', trialPending: true });
    await slots.confirmBooted();
    expect(await printenv()).toMatchObject({ BOOT_ORDER: 'A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '0' });
    expect(await slots.status()).toMatchObject({ trialPending: false });
  });

  it('rejectBooted removes the booted slot; the next boot is A', async () => {
    const slots = await rauc();
    await slots.activateTrial('B', { tries: 3 });
    await new BootSimulator(slots).simulateBoot();
    await slots.rejectBooted();
    await slots.rejectBooted();
    expect(await printenv()).toMatchObject({ BOOT_ORDER: 'A', BOOT_B_LEFT: '0' });
    expect(await new BootSimulator(slots).simulateBoot()).toMatchObject({ booted: 'A' });
  });

  it('uses bootnames for the marker and variable names', async () => {
    await init(
      { BOOT_ORDER: 'system0 system1', BOOT_system0_LEFT: '3', BOOT_system1_LEFT: '3' },
      true,
    );
    await fs.writeFile(rig.cmdlinePath, 'root=/dev/whatever rauc.slot=system0\n');
    const slots = await create({
      profile: 'uboot-rauc',
      rauc: { bootnames: { A: 'system0', B: 'system1' } },
    });
    expect(await slots.bootedSlot()).toBe('A');
    await slots.activateTrial('B', { tries: 1 });
    expect(await printenv()).toMatchObject({
      BOOT_ORDER: 'system1 system0',
      BOOT_system1_LEFT: '1',
    });
  });

  it('after a normal reboot the booted slot needs confirming before an update may touch the other slot', async () => {
    const slots = await rauc();
    await new BootSimulator(slots).simulateBoot(); // A boots, BOOT_A_LEFT=2
    await expect(slots.invalidate('B')).rejects.toMatchObject({ code: SlotErrorCode.State });
    await slots.confirmBooted();
    await slots.invalidate('B');
  });
});
