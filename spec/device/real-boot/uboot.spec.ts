/**
 * Real U-Boot as the judge: every write of the real UbootEnvSlotController (libubootenv's
 * fw_setenv) is followed by a real U-Boot 2023.01 boot under qemu-system-aarch64, running the
 * shipped Mender-style environment or RAUC-style boot script with U-Boot's own bootcount and
 * redundant-environment code. The slot U-Boot picks is read from its console.
 *
 * Needs `.ci/real-boot/setup.sh` (QEMU, the tools, the cached U-Boot build). Skipped with the
 * reason printed when something is missing, except with CI=true, where that is a failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SlotErrorCode, SlotProfile } from '../../../src/device/slot-controller.js';
import { UbootEnvSlotController } from '../../../src/device/slots/uboot-env.js';
import { SlotError } from '../../../src/errors.js';
import { latestTrace, matrixTable, record, Trace } from './matrix.js';
import { gate, IN_CI, locateUboot } from './qemu.js';
import { agentLoop, installB, type Outcome, SCENARIOS } from './scenarios.js';
import { envCopies, UbootBoard, type UbootProfile } from './uboot-board.js';

let ubootDir: string | undefined;
const ready = await gate(
  ['qemu-system-aarch64', 'fw_printenv', 'fw_setenv', 'mkenvimage', 'mkimage'],
  [],
  async () => {
    ubootDir = await locateUboot();
    return ubootDir ? undefined : 'the cached U-Boot build';
  },
);
if (!ready.ok && !IN_CI) console.warn(`real-boot U-Boot tests skipped: ${ready.reason}`);

const PROFILES: UbootProfile[] = [SlotProfile.UbootMender, SlotProfile.UbootRauc];

/** Run one scenario on a fresh board and put it in the matrix, pass or fail. */
async function play(
  scenario: string,
  profile: UbootProfile,
  body: (board: UbootBoard) => Promise<Outcome>,
  options: Parameters<typeof UbootBoard.create>[2] = {},
): Promise<void> {
  const { board, firstBoot } = await UbootBoard.create(ubootDir as string, profile, options);
  try {
    expect(firstBoot.slot).toBe('A');
    let outcome: Outcome | undefined;
    try {
      outcome = await body(board);
    } finally {
      record(scenario, outcome?.trace ?? latestTrace(board), outcome?.expected, outcome?.detected);
    }
    expect(outcome.trace.booted).toEqual(outcome.expected);
    if (outcome.detected === undefined)
      expect(outcome.trace.predicted).toEqual(outcome.trace.booted);
  } finally {
    await board.close();
  }
}

// CI=true: a missing prerequisite is one plain failing test, not a quiet skip.
if (!ready.ok && IN_CI) {
  it('has QEMU, the tools and the builds the real-boot tests need (CI=true)', () => {
    throw new Error(`CI=true and ${ready.reason}`);
  });
}

describe.skipIf(!ready.ok)(
  'real U-Boot under QEMU judges UbootEnvSlotController',
  { timeout: 240_000 },
  () => {
    afterAll(() => {
      console.log(
        `\nReal U-Boot matrix (qemu-system-aarch64 -M virt, U-Boot 2023.01):\n${matrixTable()}\n`,
      );
    });

    describe.each(PROFILES)('%s', (profile) => {
      it('trial boot of the new slot', () =>
        play('trial boot of the new slot', profile, SCENARIOS.trialBoot));
      it('commit', () => play('commit', profile, SCENARIOS.commit));
      it('a new slot that never confirms falls back after its tries', () =>
        play('never confirmed: falls back', profile, SCENARIOS.neverConfirmed));
      it('rejectBooted', () => play('rejectBooted', profile, SCENARIOS.rejectBooted));
      it('the whole agent loop: install, commit, a failed trial rolled back', () =>
        play('whole agent loop (UpdateAgent)', profile, agentLoop));

      it('a power cut during the activation write boots the previous, consistent state', () =>
        play('power cut during the activation write', profile, async (board) => {
          const trace = new Trace(board);
          const slots = board.controller;
          await installB(board, 1);
          // The copy libubootenv just wrote is torn: its CRC fails.
          const { copies, newest } = await envCopies(board.sdImage);
          const torn = await board.tearNewestCopy();
          expect(torn).toBe(copies[newest]?.offset);
          const after = await envCopies(board.sdImage);
          expect(after.copies.map((c) => c.crcOk).filter(Boolean)).toHaveLength(1);
          // Linux now reads the previous copy too: no trial pending, A boots.
          expect(await slots.status()).toMatchObject({ nextBoot: 'A', trialPending: false });
          await trace.boot();
          // …and the interrupted install can simply be repeated.
          await installB(board, 1);
          await trace.boot();
          return { trace, expected: ['A', 'B'] };
        }));

      it("the redundant env's older copy: U-Boot's own save torn, both sides fall back to the activation", () =>
        play('older copy after a torn U-Boot save', profile, async (board) => {
          const trace = new Trace(board);
          const slots = board.controller;
          await installB(board, 2);
          const before = await envCopies(board.sdImage);
          await trace.boot(); // U-Boot counts the attempt and saves into the other copy
          const saved = await envCopies(board.sdImage);
          expect(saved.newest).not.toBe(before.newest);
          await board.tearNewestCopy();
          // Both read the activation copy again: B still has its full tries.
          expect((await slots.status()).slots.B.triesLeft).toBe(2);
          await trace.boot();
          await trace.boot();
          await trace.boot();
          return { trace, expected: ['B', 'B', 'B', 'A'] };
        }));

      it('U-Boot loading another copy than fw_printenv (the NOR flag mismatch) is caught by the canary', () =>
        play(
          'U-Boot loads another copy than Linux writes: canary',
          profile,
          async (board) => {
            const trace = new Trace(board);
            await installB(board, 1); // Linux reads back B activated: read-back is satisfied
            // Without the canary the controller trusts what Linux reads: B is on its way.
            const blind = await UbootEnvSlotController.create({
              configPath: board.configPath,
              profile,
              slotDevices: board.slotDevices,
              evidence: {
                cmdlinePath: `${board.dir}/cmdline`,
                mountInfoPath: null,
                rootDevices: { A: ['/dev/mmcblk0p2'], B: ['/dev/mmcblk0p3'] },
              },
            });
            await trace.boot(); // the controller predicted B; U-Boot never saw the activation
            expect(await blind.status()).toMatchObject({ booted: 'A', nextBoot: 'B' });
            const error = await board.controller.status().then(
              () => undefined,
              (e: unknown) => e as SlotError,
            );
            expect(error).toBeInstanceOf(SlotError);
            expect(error?.code).toBe(SlotErrorCode.Environment);
            expect(error?.message).toMatch(
              /bootloader did not load the environment this system writes/,
            );
            // …and the controller refuses to plan on it: nothing more is written.
            await expect(board.controller.confirmBooted()).rejects.toMatchObject({
              code: SlotErrorCode.Environment,
            });
            return { trace, expected: ['A'], detected: error?.code };
          },
          { misplacedConfig: true },
        ));
    });
  },
);
