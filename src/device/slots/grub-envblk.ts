/**
 * The reader of a GRUB environment block (`grubenv`), byte for byte as GRUB's own
 * `grub_envblk_iterate` (`grub-core/lib/envblk.c`) reads it at boot, so the agent sees exactly
 * the variables GRUB's `load_env` will see.
 *
 * Why not `grub-editenv FILE list`: it prints each value un-escaped, one `name=value` per line, so
 * a stored value holding a newline (`X=foo\nORDER=B A`, stored escaped as `X=foo\` + newline +
 * `ORDER=B A`) prints as two lines and a line parser sees a second `ORDER` that GRUB never sees:
 * the agent's idea of the next boot would differ from the bootloader's.
 *
 * The format (GRUB 2.06, unchanged since 2009): the 25-byte signature `# GRUB Environment Block\n`,
 * then lines. A line starting with `#` is skipped (comments, and the `#` padding that fills the
 * block to 1024 bytes). Any other line is `name=value\n`: the name runs to the first `=` (GRUB does
 * not stop at a newline there), the value to the first newline not preceded by a backslash; in
 * the value a backslash escapes the next byte (`\\` is a backslash, `\` + newline a newline).
 * A line without a terminating newline inside the block is "broken" and ends the iteration, as
 * in GRUB. A later duplicate wins (GRUB's `load_env` sets each in turn). GRUB hands the hook C
 * strings, so a NUL byte ends a name or value.
 *
 * Pure: bytes in, variables out; no I/O.
 *
 * @module
 */

/** The block's first bytes (GRUB_ENVBLK_SIGNATURE). */
export const GRUBENV_SIGNATURE = '# GRUB Environment Block\n';

const HASH = 0x23; // '#'
const EQ = 0x3d; // '='
const NL = 0x0a; // '\n'
const BACKSLASH = 0x5c; // '\\'

/** Index just past the end of the line starting at `p` (GRUB's `find_next_line`). */
function nextLine(block: Uint8Array, p: number): number {
  let i = p;
  while (i < block.length) {
    if (block[i] === BACKSLASH) i += 2;
    else if (block[i] === NL) break;
    else i++;
  }
  return i + 1;
}

/** The bytes up to (not including) the first NUL, decoded as UTF-8 (GRUB passes C strings). */
function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return Buffer.from(nul === -1 ? bytes : bytes.subarray(0, nul)).toString('utf8');
}

/**
 * The variables of a GRUB environment block as GRUB reads them, or `undefined` if the block does
 * not start with {@link GRUBENV_SIGNATURE} (GRUB: "invalid environment block").
 *
 * @example
 * ```ts
 * const vars = parseGrubEnvBlock(await fs.readFile('/boot/grub/grubenv'));
 * vars?.get('ORDER'); // 'A B'
 * ```
 */
export function parseGrubEnvBlock(block: Uint8Array): Map<string, string> | undefined {
  const signature = Buffer.from(GRUBENV_SIGNATURE, 'latin1');
  if (block.length < signature.length || !signature.equals(block.subarray(0, signature.length))) {
    return undefined;
  }
  const vars = new Map<string, string>();
  const end = block.length;
  let p = signature.length;
  while (p < end) {
    if (block[p] !== HASH) {
      const nameStart = p;
      while (p < end && block[p] !== EQ) p++;
      if (p >= end) break; // broken: no '=' before the end of the block
      const nameEnd = p;
      p++;
      const valueStart = p;
      while (p < end && block[p] !== NL) p += block[p] === BACKSLASH ? 2 : 1;
      if (p >= end) break; // broken: the value runs past the end of the block
      const value: number[] = [];
      for (let i = valueStart; i < p; i++) {
        // GRUB copies the byte after a backslash verbatim, whatever it is.
        if (block[i] === BACKSLASH) i++;
        value.push(block[i] as number);
      }
      vars.set(cString(block.subarray(nameStart, nameEnd)), cString(Uint8Array.from(value)));
    }
    p = nextLine(block, p);
  }
  return vars;
}
