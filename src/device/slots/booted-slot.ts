/**
 * Which slot is running: per-boot evidence only. The kernel command line is written by the
 * bootloader for this boot (`rauc.slot=B`, `root=/dev/mmcblk0p3`) and the mounted root device is
 * what the kernel actually used; "next boot" variables (`boot_part`, `BOOT_ORDER`) say what the
 * bootloader *will* do and are wrong exactly when it matters (after a fallback, after an
 * activation that has not rebooted yet).
 *
 * Sources, in order:
 * 1. slot markers on the command line (`rauc.slot=`, `tufota.slot=`), mapped by `slotMarkers`;
 * 2. `root=` on the command line, matched against `rootDevices`;
 * 3. the source of the `/` mount in `/proc/self/mountinfo`, matched against `rootDevices`
 *    (after resolving symlinks such as `/dev/disk/by-partuuid/…`).
 * Command-line sources that disagree are an error, never a guess.
 *
 * Safe for concurrent use (read-only).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { SlotError } from '../../errors.js';
import { SLOT_NAMES, SlotErrorCode, type SlotName } from '../slot-controller.js';

/** Where the per-boot evidence is and how its values map to slots. */
export interface BootEvidenceOptions {
  /** Kernel command line to read (default `/proc/cmdline`); tests point it at a fake file. */
  cmdlinePath?: string;
  /** Mount table to read (default `/proc/self/mountinfo`); `null` to ignore mounts. */
  mountInfoPath?: string | null;
  /** Values of `root=` (device paths, `PARTUUID=…`, `/dev/disk/by-…` links) that mean each slot. */
  rootDevices: Record<SlotName, readonly string[]>;
  /** Values of `rauc.slot=` / `tufota.slot=` that mean each slot (default `A` and `B`). */
  slotMarkers?: Record<SlotName, readonly string[]>;
}

/** Default kernel command line. */
export const DEFAULT_CMDLINE_PATH = '/proc/cmdline';
/** Default mount table. */
export const DEFAULT_MOUNTINFO_PATH = '/proc/self/mountinfo';
/** Command-line parameters that name the booted slot directly. */
const SLOT_MARKER_PARAMS = ['rauc.slot', 'tufota.slot'] as const;
/** `/proc/cmdline` is at most a few KiB; a larger file is not a command line. */
const MAX_CMDLINE_BYTES = 64 * 1024;
/** Mount tables with thousands of mounts stay well under this. */
const MAX_MOUNTINFO_BYTES = 4 * 1024 * 1024;

/**
 * Split a kernel command line into `name → value` (the last occurrence wins, as for the kernel's
 * own `root=`). Double quotes group spaces, as the kernel's parser allows (`"a=b c"`).
 */
export function parseKernelCmdline(cmdline: string): Map<string, string> {
  const params = new Map<string, string>();
  const tokens = cmdline.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  for (const token of tokens) {
    const unquoted = token.replace(/"/g, '');
    const eq = unquoted.indexOf('=');
    if (eq <= 0) params.set(unquoted, '');
    else params.set(unquoted.slice(0, eq), unquoted.slice(eq + 1));
  }
  return params;
}

/** The source device of the last mount of `/` in a mountinfo table, if any. */
export function rootMountSource(mountinfo: string): string | undefined {
  let source: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    // Fields: id parent major:minor root mount-point options [optional…] - fstype source superopts
    if (sep < 6 || fields[4] !== '/') continue;
    const raw = fields[sep + 2];
    if (raw)
      source = raw.replace(/\\([0-7]{3})/g, (_, oct: string) =>
        String.fromCharCode(Number.parseInt(oct, 8)),
      );
  }
  return source;
}

/** Read a small per-boot file (`/proc/cmdline`, `boot_id`) completely, refusing one above `cap` bytes. */
export async function readCapped(file: string, cap: number, what: string): Promise<string> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const buf = Buffer.alloc(cap + 1);
    let used = 0;
    // /proc files report size 0: read until EOF rather than trusting stat.
    for (;;) {
      const { bytesRead } = await handle.read(buf, used, buf.length - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
      if (used > cap)
        throw new SlotError(
          `${what} ${file} is larger than ${cap} bytes`,
          {},
          SlotErrorCode.Evidence,
        );
    }
    return buf.subarray(0, used).toString('utf8');
  } catch (error) {
    if (error instanceof SlotError) throw error;
    throw new SlotError(
      `cannot read ${what} ${file}: ${(error as Error).message}`,
      { cause: error },
      SlotErrorCode.Evidence,
    );
  } finally {
    await handle?.close();
  }
}

async function resolveDevice(p: string): Promise<string> {
  if (!p.startsWith('/')) return p;
  return fs.realpath(p).catch(() => p);
}

/** Map a device (or `root=` value) to a slot by exact match, then by resolved path. */
async function slotOfDevice(
  device: string,
  rootDevices: Record<SlotName, readonly string[]>,
): Promise<SlotName | undefined> {
  for (const slot of SLOT_NAMES) if (rootDevices[slot].includes(device)) return slot;
  const resolved = await resolveDevice(device);
  for (const slot of SLOT_NAMES) {
    for (const candidate of rootDevices[slot]) {
      if ((await resolveDevice(candidate)) === resolved) return slot;
    }
  }
  return undefined;
}

/**
 * The mounted root device, resolved, or `undefined` if the mount table is unavailable or names a
 * pseudo device (`/dev/root`, `overlay`). Used to refuse writing to the running root.
 */
export async function mountedRootDevice(
  mountInfoPath: string | null = DEFAULT_MOUNTINFO_PATH,
): Promise<string | undefined> {
  if (mountInfoPath === null) return undefined;
  const text = await readCapped(mountInfoPath, MAX_MOUNTINFO_BYTES, 'mount table').catch(
    () => undefined,
  );
  const source = text === undefined ? undefined : rootMountSource(text);
  return source === undefined ? undefined : resolveDevice(source);
}

/**
 * Determine the booted slot from per-boot evidence.
 *
 * @throws SlotError `ERR_TUF_SLOT_EVIDENCE` if the command line cannot be read, its sources
 *   disagree, or no source names a known slot.
 *
 * @example
 * ```ts
 * const booted = await readBootedSlot({
 *   rootDevices: { A: ['/dev/mmcblk0p2'], B: ['/dev/mmcblk0p3'] },
 * });
 * ```
 */
export async function readBootedSlot(options: BootEvidenceOptions): Promise<SlotName> {
  const cmdlinePath = options.cmdlinePath ?? DEFAULT_CMDLINE_PATH;
  const markers = options.slotMarkers ?? { A: ['A'], B: ['B'] };
  const params = parseKernelCmdline(
    await readCapped(cmdlinePath, MAX_CMDLINE_BYTES, 'kernel command line'),
  );

  const found: Array<{ slot: SlotName; source: string }> = [];
  for (const name of SLOT_MARKER_PARAMS) {
    const value = params.get(name);
    if (value === undefined) continue;
    const slot = SLOT_NAMES.find((s) => markers[s].includes(value));
    if (!slot) {
      throw new SlotError(
        `${cmdlinePath}: ${name}=${value} names no known slot (expected one of ${[...markers.A, ...markers.B].join(', ')})`,
        {},
        SlotErrorCode.Evidence,
      );
    }
    found.push({ slot, source: `${name}=${value}` });
  }
  const root = params.get('root');
  if (root !== undefined) {
    const slot = await slotOfDevice(root, options.rootDevices);
    if (slot) found.push({ slot, source: `root=${root}` });
  }
  const first = found[0];
  if (first) {
    const conflict = found.find((f) => f.slot !== first.slot);
    if (conflict) {
      throw new SlotError(
        `${cmdlinePath}: per-boot evidence disagrees: ${first.source} means slot ${first.slot} but ${conflict.source} means slot ${conflict.slot}`,
        {},
        SlotErrorCode.Evidence,
      );
    }
    return first.slot;
  }

  const mounted = await mountedRootDevice(options.mountInfoPath ?? DEFAULT_MOUNTINFO_PATH);
  if (mounted !== undefined) {
    const slot = await slotOfDevice(mounted, options.rootDevices);
    if (slot) return slot;
  }
  throw new SlotError(
    `cannot tell which slot is booted: ${cmdlinePath} has no ${SLOT_MARKER_PARAMS.join('/')} marker and its root=${root ?? '(none)'} ` +
      `and the mounted root ${mounted ?? '(unknown)'} match none of the slot devices ` +
      `(A: ${options.rootDevices.A.join(', ')}; B: ${options.rootDevices.B.join(', ')})`,
    {},
    SlotErrorCode.Evidence,
  );
}
