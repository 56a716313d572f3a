/**
 * Real GRUB as the judge: every write of the real GrubEnvSlotController (grub-editenv on a copy,
 * renamed over grubenv) is followed by a real GRUB 2.06 (Debian grub-pc-bin) boot under
 * qemu-system-x86_64 with SeaBIOS, running the shipped RAUC-style `tufota-ab.cfg`, which reads
 * and writes grubenv itself. The slot GRUB boots is read from its console.
 *
 * Needs the tools `.ci/real-boot/setup.sh` installs. Skipped with the reason printed when one is
 * missing, except with CI=true, where that is a failure.
 */
import { promises as fs } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runTool, type ToolRunner } from '../../../src/device/slots/exec.js';
import { GRUB_PC_DIR, GrubBoard, MKFS_VFAT } from './grub-board.js';
import { latestTrace, matrixTable, record, Trace } from './matrix.js';
import { gate, IN_CI } from './qemu.js';
import { agentLoop, installB, type Outcome, SCENARIOS } from './scenarios.js';

const ready = await gate(
  ['qemu-system-x86_64', 'grub-editenv', 'grub-mkimage', 'mcopy', 'mmd'],
  [`${GRUB_PC_DIR}/boot.img`, '/usr/share/seabios/bios-256k.bin', MKFS_VFAT],
);
if (!ready.ok && !IN_CI) console.warn(`real-boot GRUB tests skipped: ${ready.reason}`);

async function play(
  scenario: string,
  body: (board: GrubBoard) => Promise<Outcome>,
  board?: GrubBoard,
): Promise<void> {
  const b = board ?? (await GrubBoard.create()).board;
  try {
    let outcome: Outcome | undefined;
    try {
      outcome = await body(b);
    } finally {
      record(scenario, outcome?.trace ?? latestTrace(b), outcome?.expected);
    }
    expect(outcome.trace.booted).toEqual(outcome.expected);
    expect(outcome.trace.predicted).toEqual(outcome.trace.booted);
  } finally {
    await b.close();
  }
}

// CI=true: a missing prerequisite is one plain failing test, not a quiet skip.
if (!ready.ok && IN_CI) {
  it('has QEMU, the tools and the builds the real-boot tests need (CI=true)', () => {
    throw new Error(`CI=true and ${ready.reason}`);
  });
}

describe.skipIf(!ready.ok)(
  'real GRUB under QEMU judges GrubEnvSlotController',
  { timeout: 240_000 },
  () => {
    afterAll(() => {
      console.log(
        `\nReal GRUB matrix (qemu-system-x86_64, SeaBIOS, GRUB 2.06 i386-pc):\n${matrixTable()}\n`,
      );
    });

    it('the factory state boots slot A', async () => {
      const { board, firstBoot } = await GrubBoard.create();
      try {
        expect(firstBoot.slot).toBe('A');
        expect(firstBoot.cmdline).toContain('root=/dev/sda2');
        expect(await board.controller.bootedSlot()).toBe('A');
      } finally {
        await board.close();
      }
    });
    it('trial boot of the new slot', () => play('trial boot of the new slot', SCENARIOS.trialBoot));
    it('commit', () => play('commit', SCENARIOS.commit));
    it('a new slot that never confirms falls back after its try', () =>
      play('never confirmed: falls back', SCENARIOS.neverConfirmed));
    it('rejectBooted', () => play('rejectBooted', SCENARIOS.rejectBooted));
    it('the whole agent loop: install, commit, a failed trial rolled back', () =>
      play('whole agent loop (UpdateAgent)', agentLoop));

    it('a power cut during the activation write leaves grubenv whole: A boots', async () => {
      // The process dies after grub-editenv wrote half of the copy and before the rename.
      let cut = false;
      const run: ToolRunner = async (file, args, options) => {
        const result = await runTool(file, args, options);
        // Only the activation (B_OK=1), not the confirmation of the boot before it.
        if (cut && args[1] === 'set' && args.includes('B_OK=1')) {
          await fs.truncate(args[0] as string, 300);
          throw new Error('power cut (simulated) while the new block was being written');
        }
        return result;
      };
      const { board } = await GrubBoard.create({ runTool: run });
      await play(
        'power cut during the activation write',
        async (b) => {
          const trace = new Trace(b);
          await b.controller.confirmBooted(); // the normal boot's confirmation, before the cut
          const before = await fs.readFile(b.grubenv);
          cut = true;
          await expect(installB(b, 1)).rejects.toThrow(/power cut/);
          cut = false;
          expect(await fs.readFile(b.grubenv)).toEqual(before);
          expect(await b.controller.status()).toMatchObject({ nextBoot: 'A', trialPending: false });
          await trace.boot();
          await installB(b, 1);
          await trace.boot();
          return { trace, expected: ['A', 'B'] };
        },
        board,
      );
    });
  },
);
