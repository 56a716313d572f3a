/**
 * Fixtures of the device-agent tests: a file-slot rig (booted A holding a v1 image), a boot
 * simulator, an in-memory verified target source with failure knobs, and image builders.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { TargetSource } from '../../src/device/agent.js';
import type { ImageStream } from '../../src/device/install.js';
import type { SlotController } from '../../src/device/slot-controller.js';
import {
  BootSimulator,
  FileSlotController,
  imageStartsWith,
} from '../../src/device/slots/index.js';
import { DownloadError } from '../../src/errors.js';
import { TargetFile } from '../../src/models/index.js';
import { evidenceOf, GOOD_IMAGE, makeRig, type Rig } from './slots/helpers.js';

export { GOOD_IMAGE };

/** Small blocks so test images span many blocks and checkpoints. */
export const TUNING = { blockSize: 64 * 1024, checkpointBytes: 128 * 1024 };

/** A bootable image: the header the simulator looks for, then `size` pseudo-random bytes. */
export function makeImage(size: number, seed = 1): Uint8Array {
  const out = Buffer.alloc(GOOD_IMAGE.length + size);
  out.write(GOOD_IMAGE, 0);
  let x = seed * 2654435761;
  for (let i = GOOD_IMAGE.length; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function targetOf(
  targetPath: string,
  data: Uint8Array,
  custom: Record<string, unknown> = {
    hardwareIds: ['board-1'],
    version: '2.0.0',
    releaseCounter: 2,
  },
): TargetFile {
  return new TargetFile(targetPath, data.byteLength, { sha256: sha256(data) }, custom);
}

/** Options of one {@link MemorySource} open. */
interface OpenRecord {
  path: string;
  offset: number;
  answeredOffset: number;
}

/** A verified target source over a map; records opens; knobs for failures. */
export class MemorySource implements TargetSource {
  readonly targets = new Map<string, { info: TargetFile; data: Uint8Array }>();
  readonly opens: OpenRecord[] = [];
  refreshes = 0;
  /** Make refresh() reject (the update server is unreachable). */
  refreshError: Error | undefined;
  /** Answer every range request from byte 0 (an HTTP server that ignores Range). */
  ignoreOffset = false;
  /** Fail the transfer with a DownloadError after this many bytes of the next open. */
  failAfterBytes: number | undefined;
  /** Serve these bytes instead of the real data (tampering). */
  tamper: ((data: Uint8Array) => Uint8Array) | undefined;
  /** Chunk size of served streams. */
  chunkSize = 10_000;

  add(info: TargetFile, data: Uint8Array): TargetFile {
    this.targets.set(info.path, { info, data });
    return info;
  }

  async refresh(): Promise<void> {
    this.refreshes++;
    if (this.refreshError) throw this.refreshError;
  }

  async getTargetInfo(targetPath: string): Promise<TargetFile | undefined> {
    return this.targets.get(targetPath)?.info;
  }

  async openTarget(info: TargetFile, options: { offset?: number }): Promise<ImageStream> {
    const entry = this.targets.get(info.path);
    if (!entry) throw new DownloadError(`no ${info.path}`);
    const requested = options.offset ?? 0;
    const offset = this.ignoreOffset ? 0 : requested;
    this.opens.push({ path: info.path, offset: requested, answeredOffset: offset });
    const data = this.tamper ? this.tamper(entry.data) : entry.data;
    const failAfter = this.failAfterBytes;
    this.failAfterBytes = undefined;
    const chunk = this.chunkSize;
    let cancelled = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      let sent = 0;
      for (let at = offset; at < data.byteLength && !cancelled; at += chunk) {
        const piece = data.subarray(at, Math.min(at + chunk, data.byteLength));
        if (failAfter !== undefined && sent + piece.byteLength > failAfter) {
          throw new DownloadError('connection reset by peer (simulated)');
        }
        sent += piece.byteLength;
        yield piece;
      }
    }
    const stream = Object.assign(body(), {
      cancel: () => {
        cancelled = true;
      },
    });
    return { offset, stream };
  }
}

/** A file-slot device: A booted with a v1 image, B holding an old image, a boot simulator. */
export interface DeviceRig {
  rig: Rig;
  dir: string;
  envPath: string;
  stateDir: string;
  slots: FileSlotController;
  sim: BootSimulator;
  v1: Uint8Array;
  /** A fresh controller (as after a reboot: a new process). */
  reopen(): Promise<FileSlotController>;
  read(file: string): Promise<Buffer>;
  cleanup(): Promise<void>;
}

export async function makeDeviceRig(): Promise<DeviceRig> {
  const rig = await makeRig('A');
  const v1 = makeImage(300_000, 7);
  await fs.writeFile(rig.slotDevices.A, v1);
  const envPath = path.join(rig.dir, 'env.json');
  await FileSlotController.initEnv({ envPath, bootSlot: 'A' });
  const open = () =>
    FileSlotController.create({ envPath, slotDevices: rig.slotDevices, evidence: evidenceOf(rig) });
  const slots = await open();
  const sim = new BootSimulator(slots, { isBootable: imageStartsWith(GOOD_IMAGE) });
  return {
    rig,
    dir: rig.dir,
    envPath,
    stateDir: path.join(rig.dir, 'state'),
    slots,
    sim,
    v1,
    reopen: open,
    read: (file) => fs.readFile(file),
    cleanup: () => rig.cleanup(),
  };
}

/** Wrap a controller, overriding some methods (spies, capability changes). */
export function wrapSlots(
  inner: SlotController,
  overrides: Partial<SlotController>,
): SlotController {
  return {
    capabilities: () => inner.capabilities(),
    status: () => inner.status(),
    bootedSlot: () => inner.bootedSlot(),
    updateTarget: () => inner.updateTarget(),
    slotDevice: (s) => inner.slotDevice(s),
    invalidate: (s) => inner.invalidate(s),
    activateTrial: (s, o) => inner.activateTrial(s, o),
    cancelTrial: () => inner.cancelTrial(),
    confirmBooted: () => inner.confirmBooted(),
    rejectBooted: () => inner.rejectBooted(),
    ...overrides,
  };
}

export function randomImage(size: number): Uint8Array {
  const data = randomBytes(size);
  data.write(GOOD_IMAGE, 0);
  return data;
}
