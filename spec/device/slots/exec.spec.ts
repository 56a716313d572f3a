import { describe, expect, it } from 'vitest';
import { SlotErrorCode } from '../../../src/device/slot-controller.js';
import { formatCommand, runTool } from '../../../src/device/slots/exec.js';
import { SlotError } from '../../../src/errors.js';

describe('runTool', () => {
  it('returns stdout and stderr of a zero exit and feeds stdin', async () => {
    expect(await runTool('cat', [], { input: 'a=1\nb=2\n' })).toEqual({
      stdout: 'a=1\nb=2\n',
      stderr: '',
    });
  });

  it('passes arguments verbatim, without a shell', async () => {
    const { stdout } = await runTool('printf', ['%s|', '$(reboot)', 'a b', ';']);
    expect(stdout).toBe('$(reboot)|a b|;|');
  });

  it('names the Debian package when a bootloader tool is missing', async () => {
    const error = await runTool('/nonexistent/bin/fw_setenv', ['-s', '-']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlotError);
    expect(error).toMatchObject({
      code: SlotErrorCode.ToolMissing,
      message: expect.stringMatching(/u-boot-tools/),
    });
    const grub = await runTool('/nonexistent/grub-editenv', []).catch((e: unknown) => e);
    expect(grub).toMatchObject({
      code: SlotErrorCode.ToolMissing,
      message: expect.stringMatching(/grub-common/),
    });
  });

  it('maps a non-zero exit to ERR_TUF_SLOT_TOOL_FAILED with the command, status and stderr tail', async () => {
    const error = await runTool('sh', [
      '-c',
      'echo noise; echo "Cannot read environment" >&2; exit 243',
    ]).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: SlotErrorCode.ToolFailed,
      message: expect.stringMatching(/^sh -c .*exited with status 243: Cannot read environment$/),
    });
  });

  it('quotes only the long stderr tail', async () => {
    const error = (await runTool('sh', [
      '-c',
      'head -c 5000 /dev/zero | tr "\\0" x >&2; echo END >&2; exit 1',
    ]).catch((e: unknown) => e)) as Error;
    expect(error.message.length).toBeLessThan(800);
    expect(error.message).toMatch(/END$/);
  });

  it('kills a tool that runs past its timeout', async () => {
    const error = await runTool('sleep', ['30'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: SlotErrorCode.ToolTimeout,
      message: expect.stringMatching(/sleep 30 did not finish within 100 ms/),
    });
  });

  it('refuses output above the cap', async () => {
    const error = await runTool('head', ['-c', '100000', '/dev/zero'], {
      maxOutputBytes: 1000,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: SlotErrorCode.ToolFailed,
      message: expect.stringMatching(/more than 1000 bytes/),
    });
  });

  it('formats commands for messages', () => {
    expect(formatCommand('fw_setenv', ['-c', '/etc/fw_env.config', '-s', '-'])).toBe(
      'fw_setenv -c /etc/fw_env.config -s -',
    );
    expect(formatCommand('grub-editenv', ['f', 'set', 'ORDER=B A'])).toBe(
      'grub-editenv f set "ORDER=B A"',
    );
  });
});
