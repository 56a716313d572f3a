/**
 * parseGrubEnvBlock: GRUB's `grub_envblk_iterate`, byte for byte. Tables of hand-made blocks for
 * the format's corners, and a round trip through the real `grub-editenv set` (Debian
 * `grub-common`) for arbitrary values, newlines and backslashes included.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../../../src/device/slots/exec.js';
import { GRUBENV_SIGNATURE, parseGrubEnvBlock } from '../../../src/device/slots/grub-envblk.js';

/** A 1024-byte block: the signature, `body`, then `#` padding. */
function block(body: string): Buffer {
  const head = Buffer.from(GRUBENV_SIGNATURE + body, 'latin1');
  return Buffer.concat([head, Buffer.alloc(1024 - head.length, '#')]);
}

describe('parseGrubEnvBlock', () => {
  it.each([
    ['plain variables', 'A=1\nB=two words\n', { A: '1', B: 'two words' }],
    ['an escaped newline stays in the value', 'X=foo\\\nORDER=B A\n', { X: 'foo\nORDER=B A' }],
    ['an escaped backslash', 'P=a\\\\b\n', { P: 'a\\b' }],
    ['a backslash before any byte yields that byte', 'P=\\q\n', { P: 'q' }],
    ['comment lines are skipped', '# note\nA=1\n#B=2\n', { A: '1' }],
    ['a later duplicate wins', 'A=1\nA=2\n', { A: '2' }],
    ['an empty value', 'E=\n', { E: '' }],
    ['the value keeps further "=" signs', 'K=a=b\n', { K: 'a=b' }],
    [
      'a name runs to the first "=", across a newline (as in GRUB)',
      'junk\nA=1\n',
      { 'junk\nA': '1' },
    ],
    ['a NUL ends the value (C strings)', 'A=x\u0000y\n', { A: 'x' }],
  ])('%s', (_name, body, expected) => {
    expect(Object.fromEntries(parseGrubEnvBlock(block(body)) ?? [])).toEqual(expected);
  });

  it('stops at a line that runs past the block end, keeping what came before', () => {
    const head = Buffer.from(`${GRUBENV_SIGNATURE}A=1\nB=unterminated`, 'latin1');
    expect(Object.fromEntries(parseGrubEnvBlock(head) ?? [])).toEqual({ A: '1' });
    const escapedEnd = Buffer.from(`${GRUBENV_SIGNATURE}A=1\nB=x\\`, 'latin1');
    expect(Object.fromEntries(parseGrubEnvBlock(escapedEnd) ?? [])).toEqual({ A: '1' });
    const noEquals = Buffer.from(`${GRUBENV_SIGNATURE}A=1\nNOEQUALS`, 'latin1');
    expect(Object.fromEntries(parseGrubEnvBlock(noEquals) ?? [])).toEqual({ A: '1' });
  });

  it('refuses a block without the signature', () => {
    expect(parseGrubEnvBlock(Buffer.alloc(1024, '#'))).toBeUndefined();
    expect(parseGrubEnvBlock(Buffer.from('# GRUB'))).toBeUndefined();
  });
});

describe('parseGrubEnvBlock against the real grub-editenv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-envblk-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('reads back every value grub-editenv stored, newlines and backslashes included', async () => {
    let n = 0;
    const value = fc.string({
      unit: fc.constantFrom('a', 'Z', ' ', '=', '#', '\\', '\n', 'é'),
      maxLength: 24,
    });
    await fc.assert(
      fc.asyncProperty(value, value, async (v1, v2) => {
        const file = path.join(dir, `env-${n++}`);
        await runTool('grub-editenv', [file, 'create']);
        await runTool('grub-editenv', [file, 'set', `ONE=${v1}`, `TWO=${v2}`, 'ORDER=A B']);
        const vars = parseGrubEnvBlock(await fs.readFile(file));
        expect(vars?.get('ONE')).toBe(v1);
        expect(vars?.get('TWO')).toBe(v2);
        expect(vars?.get('ORDER')).toBe('A B');
      }),
      { numRuns: 25 },
    );
  });
});
