/**
 * Helpers for the tar specs: hand-built headers (to make archives our writer refuses to make),
 * and temporary files.
 */
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readTarIndex, type TarIndex } from '../../src/bundle/tar.js';

export async function tempDir(prefix = 'tufota-tar-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface RawHeader {
  name: string;
  size?: number;
  /** Type flag character; default '0'. */
  type?: string;
  prefix?: string;
  magic?: string;
  /** Added to the correct checksum (0: correct). */
  checksumDelta?: number;
}

/** One 512-byte ustar header, built by hand. */
export function rawHeader(h: RawHeader): Uint8Array {
  const enc = new TextEncoder();
  const block = new Uint8Array(512);
  block.set(enc.encode(h.name).subarray(0, 100), 0);
  const octal = (start: number, len: number, value: number) =>
    block.set(enc.encode(value.toString(8).padStart(len - 1, '0')), start);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, h.size ?? 0);
  octal(136, 12, 0);
  block[156] = (h.type ?? '0').charCodeAt(0);
  block.set(enc.encode(h.magic ?? 'ustar\u000000'), 257);
  if (h.prefix !== undefined) block.set(enc.encode(h.prefix), 345);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  sum += h.checksumDelta ?? 0;
  block.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
  return block;
}

/** A member: header + data padded to 512. */
export function rawMember(h: RawHeader, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const padded = new Uint8Array(Math.ceil(data.byteLength / 512) * 512);
  padded.set(data);
  return concat([rawHeader({ ...h, size: h.size ?? data.byteLength }), padded]);
}

export const END = new Uint8Array(1024);

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A pax `x` member carrying `records`. */
export function paxMember(records: Record<string, string>, type = 'x'): Uint8Array {
  const enc = new TextEncoder();
  let text = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = enc.encode(body).byteLength + 1;
    while (String(len).length + enc.encode(body).byteLength !== len) len++;
    text += `${len}${body}`;
  }
  return rawMember({ name: 'PaxHeaders/x', type }, enc.encode(text));
}

/** Write `bytes` to a file in `dir` and index it. */
export async function indexBytes(
  dir: string,
  bytes: Uint8Array,
  options: { maxEntries?: number } = {},
): Promise<TarIndex> {
  const file = path.join(dir, `a-${Math.random().toString(16).slice(2)}.tar`);
  await writeFile(file, bytes);
  return indexFile(file, options);
}

export async function indexFile(
  file: string,
  options: { maxEntries?: number } = {},
): Promise<TarIndex> {
  const handle = await open(file, 'r');
  try {
    return await readTarIndex(handle, { ...options, label: file });
  } finally {
    await handle.close();
  }
}
