/**
 * EnvCanary's rule on its own (the real-boot tests run it against a real U-Boot): the bootloader
 * must have loaded the latest write, unless that write was made during this very boot.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlotErrorCode } from '../../../src/device/slot-controller.js';
import {
  CANARY_SEQ_VARIABLE,
  CANARY_WRITER_VARIABLE,
  EnvCanary,
} from '../../../src/device/slots/env-canary.js';

const BOOT_1 = '0d1f3c2a-1111-4a4a-9b9b-000000000001';
const BOOT_2 = '0d1f3c2a-1111-4a4a-9b9b-000000000002';
let dir: string;
let canary: EnvCanary;

async function boot(bootId: string, cmdline: string): Promise<void> {
  await fs.writeFile(path.join(dir, 'boot_id'), `${bootId}\n`);
  await fs.writeFile(path.join(dir, 'cmdline'), `${cmdline}\n`);
}
const env = (seq?: string, writer?: string) =>
  new Map([
    ...(seq ? [[CANARY_SEQ_VARIABLE, seq] as const] : []),
    ...(writer ? [[CANARY_WRITER_VARIABLE, writer] as const] : []),
  ]);

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-canary-'));
  canary = new EnvCanary({
    cmdlinePath: path.join(dir, 'cmdline'),
    bootIdPath: path.join(dir, 'boot_id'),
  });
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

describe('EnvCanary', () => {
  it('passes when the bootloader booted the generation the environment holds', async () => {
    await boot(BOOT_2, 'root=/dev/mmcblk0p3 tufota.envseq=abc');
    await expect(canary.check(env('abc', BOOT_1), 'env')).resolves.toBeUndefined();
    await boot(BOOT_1, 'root=/dev/mmcblk0p2 tufota.envseq=');
    await expect(canary.check(env(), 'env')).resolves.toBeUndefined(); // factory: never written
  });

  it('passes when the newer generation was written during this boot (not rebooted yet)', async () => {
    await boot(BOOT_1, 'tufota.envseq=abc');
    await expect(canary.check(env('def', BOOT_1), 'env')).resolves.toBeUndefined();
  });

  it('fails when a write from an earlier boot never reached the bootloader', async () => {
    await boot(BOOT_2, 'tufota.envseq=abc');
    await expect(canary.check(env('def', BOOT_1), '/etc/fw_env.config')).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringMatching(
        /booted with tufota_env_seq=abc but \/etc\/fw_env.config holds def/,
      ),
    });
  });

  it('fails when the boot script does not pass tufota.envseq at all', async () => {
    await boot(BOOT_1, 'root=/dev/mmcblk0p2');
    await expect(canary.check(env(), 'env')).rejects.toMatchObject({
      code: SlotErrorCode.Environment,
      message: expect.stringContaining('add "tufota.envseq='),
    });
  });

  it('writes a fresh generation and this boot as the writer with every change', async () => {
    await boot(BOOT_1, 'tufota.envseq=');
    const first = new Map(await canary.changes());
    const second = new Map(await canary.changes());
    expect(first.get(CANARY_WRITER_VARIABLE)).toBe(BOOT_1);
    expect(first.get(CANARY_SEQ_VARIABLE)).toMatch(/^[0-9a-f]{16}$/);
    expect(second.get(CANARY_SEQ_VARIABLE)).not.toBe(first.get(CANARY_SEQ_VARIABLE));
  });

  it('refuses a boot id file that holds no boot id', async () => {
    await boot('not a boot id', 'tufota.envseq=abc');
    await expect(canary.changes()).rejects.toMatchObject({ code: SlotErrorCode.Evidence });
  });
});
