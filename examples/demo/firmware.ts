/**
 * The demo's firmware images and what "booting" and "running" one means in the simulation.
 *
 * An image is a small text header — a magic line the simulated bootloader looks for, the release
 * version, and how the image's application behaves (`app=healthy` or `app=crashes`) — padded to
 * 4 KiB, followed by random bytes up to the image size. So:
 * - a slot boots when it starts with {@link IMAGE_MAGIC} ({@link isBootable}); a slot that was
 *   invalidated and half written may or may not, which is why the agent never lets the
 *   bootloader try it;
 * - the application "starts" when the header says `app=healthy` ({@link demoAppCheck}, a health
 *   check of the kind an integrator writes: it looks at what actually booted).
 *
 * Not a real image format: a stand-in with just enough structure to make the device's decisions
 * visible. Safe for concurrent use (no shared state).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { HealthCheck, SlotController } from 'tufota/device';
import { imageStartsWith } from 'tufota/device';
import { HealthCheckError } from 'tufota/errors';

/** First line of every demo image; the simulated bootloader boots nothing else. */
export const IMAGE_MAGIC = 'TUFOTA-DEMO-IMAGE\n';
/** Bytes reserved for the header. */
const HEADER_BYTES = 4096;
/** Default image size: a few MiB, not a whole number of write blocks. */
export const DEFAULT_IMAGE_SIZE = 4 * 1024 * 1024 + 12_345;

/** How the application inside an image behaves once booted. */
export type AppBehaviour = 'healthy' | 'crashes';

/** What the header of an image says. */
export interface FirmwareHeader {
  version: string;
  app: AppBehaviour;
}

/**
 * A demo image: header, then random bytes (random so that no two releases share blocks and
 * every install really writes).
 *
 * @example
 * ```ts
 * const image = buildFirmware({ version: '1.1.0', app: 'healthy' });
 * ```
 */
export function buildFirmware(header: FirmwareHeader, size = DEFAULT_IMAGE_SIZE): Uint8Array {
  if (!Number.isSafeInteger(size) || size < HEADER_BYTES) {
    throw new RangeError(`image size must be an integer >= ${HEADER_BYTES}, got ${size}`);
  }
  const text = `${IMAGE_MAGIC}version=${header.version}\napp=${header.app}\n`;
  const image = randomBytes(size);
  image.fill(0, 0, HEADER_BYTES);
  image.write(text, 0, 'utf8');
  return image;
}

/** Parse a header; `undefined` when the bytes are not a demo image. */
export function parseFirmwareHeader(bytes: Uint8Array): FirmwareHeader | undefined {
  const text = Buffer.from(bytes.subarray(0, HEADER_BYTES)).toString('latin1');
  if (!text.startsWith(IMAGE_MAGIC)) return undefined;
  const version = /\nversion=([0-9A-Za-z.+-]{1,64})\n/.exec(text)?.[1];
  const app = /\napp=(healthy|crashes)\n/.exec(text)?.[1] as AppBehaviour | undefined;
  return version !== undefined && app !== undefined ? { version, app } : undefined;
}

/** Read the header of the image in a slot file; `undefined` for an empty or foreign slot. */
export async function readFirmwareHeader(file: string): Promise<FirmwareHeader | undefined> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEADER_BYTES, 0);
    return parseFirmwareHeader(buf.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The simulated bootloader's test: does this slot hold something that starts? */
export const isBootable = imageStartsWith(IMAGE_MAGIC);

/**
 * The health check an integrator would write for their application, here reading what the
 * booted image's application does. Runs after the agent booted a new slot for a trial; a failure
 * makes the agent reject the slot and reboot into the previous one.
 *
 * @param onRun - told what the check saw (for the demo's narration).
 */
export function demoAppCheck(
  slots: SlotController,
  onRun: (line: string) => void = () => {},
): HealthCheck {
  return {
    name: 'demo-app',
    timeoutMs: 5_000,
    async run() {
      const booted = await slots.bootedSlot();
      const header = await readFirmwareHeader(slots.slotDevice(booted));
      if (header === undefined) {
        throw new HealthCheckError(`slot ${booted} holds no demo image`, { check: 'demo-app' });
      }
      if (header.app === 'crashes') {
        onRun(`demo-app ${header.version} started in slot ${booted} and exited with status 1`);
        throw new HealthCheckError(
          `demo-app ${header.version} exited with status 1 right after start`,
          { check: 'demo-app' },
        );
      }
      onRun(`demo-app ${header.version} started in slot ${booted} and answers`);
    },
  };
}
