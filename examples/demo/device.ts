/**
 * The simulated device: two FILE slots and a JSON boot environment (`FileSlotController`, the
 * Mender-style `boot_part`/`upgrade_available`/`bootcount`/`bootlimit` protocol), a fake kernel
 * command line as per-boot evidence, the `BootSimulator` playing the bootloader at power-on, and
 * the update agent wired as on a device: `createAgent` over the TUF `Updater` with an
 * `HttpFetcher` and an `FsMetadataStore`, journal and event log in a state directory.
 *
 * A "boot" builds everything afresh from the files, as a new process on a real device would:
 * nothing survives a reboot but what is on disk. Used by the demo's main process and by the
 * agent process the power-cut scenario kills.
 *
 * Not safe for concurrent use: one agent per device at a time (as on a device).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FsMetadataStore, HttpFetcher, Updater } from 'tufota/client';
import {
  BootSimulator,
  createAgent,
  FileSlotController,
  FsJournalStore,
  type SimulatedBoot,
  type SlotName,
  type UpdateAgent,
} from 'tufota/device';
import { demoAppCheck, isBootable, readFirmwareHeader } from './firmware.js';

/** The hardware id of the simulated board; releases list it in `custom.hardwareIds`. */
export const HARDWARE_ID = 'demo-board';

/**
 * Write tuning: 256 KiB blocks and a durable checkpoint every MiB, so a few-MiB image has
 * several resume points (a device would keep the defaults: 1 MiB blocks, 64 MiB checkpoints).
 */
export const TUNING = { blockSize: 256 * 1024, checkpointBytes: 1024 * 1024 } as const;

/** Where the device keeps everything. */
export interface DeviceLayout {
  dir: string;
  /** The boot environment (what U-Boot's env partition is on a real board). */
  envPath: string;
  /** The fake `/proc/cmdline` the simulated bootloader writes at each boot. */
  cmdlinePath: string;
  /** The slot "partitions". */
  slotDevices: Record<SlotName, string>;
  /** The agent's journal, installed state and event log (`/var/lib/tufota/agent`). */
  stateDir: string;
  /** The TUF metadata cache, seeded with the trusted root (`/var/lib/tufota/metadata`). */
  metadataDir: string;
}

/** The file layout of a device rooted at `dir`. */
export function deviceLayout(dir: string): DeviceLayout {
  return {
    dir,
    envPath: path.join(dir, 'boot-env.json'),
    cmdlinePath: path.join(dir, 'cmdline'),
    slotDevices: { A: path.join(dir, 'slot-a.img'), B: path.join(dir, 'slot-b.img') },
    stateDir: path.join(dir, 'agent'),
    metadataDir: path.join(dir, 'metadata'),
  };
}

/**
 * The factory: flash `factoryImage` into slot A, leave slot B empty, write a boot environment
 * that boots A, and install the trusted root metadata.
 */
export async function provisionDevice(
  layout: DeviceLayout,
  factoryImage: Uint8Array,
  rootBytes: Uint8Array,
): Promise<void> {
  await fs.mkdir(layout.dir, { recursive: true });
  await fs.writeFile(layout.slotDevices.A, factoryImage);
  await fs.writeFile(layout.slotDevices.B, new Uint8Array(0));
  await FileSlotController.initEnv({ envPath: layout.envPath, bootSlot: 'A' });
  await FsMetadataStore.init(layout.metadataDir, rootBytes);
}

function openSlots(layout: DeviceLayout): Promise<FileSlotController> {
  return FileSlotController.create({
    envPath: layout.envPath,
    slotDevices: layout.slotDevices,
    evidence: { cmdlinePath: layout.cmdlinePath, mountInfoPath: null },
  });
}

/** Power the device on: the simulated bootloader picks a slot and writes the kernel command line. */
export async function powerOn(layout: DeviceLayout): Promise<SimulatedBoot> {
  return new BootSimulator(await openSlots(layout), { isBootable }).simulateBoot();
}

/** A running agent (one "boot" of the device). */
export interface DeviceSession {
  agent: UpdateAgent;
  slots: FileSlotController;
  /** `true` once the agent asked for a reboot (the demo then power-cycles the device). */
  readonly rebootRequested: boolean;
  /** Close the agent (it releases its state-directory lock) and the HTTP connection pool. */
  close(): Promise<void>;
}

/** Options of {@link startAgent}. */
export interface StartAgentOptions {
  /** Told what the demo-app health check saw. */
  onAppCheck?: (line: string) => void;
  /** What `reboot()` does (default: remember the request; the caller power-cycles). */
  reboot?: () => Promise<void>;
}

/**
 * Start the agent as the device's service would after a boot: a fresh slot controller, TUF
 * client and agent over the files on disk. Call `session.agent.resume()` first, as a device must.
 */
export async function startAgent(
  layout: DeviceLayout,
  serverUrl: string,
  options: StartAgentOptions = {},
): Promise<DeviceSession> {
  const slots = await openSlots(layout);
  const fetcher = new HttpFetcher({ retries: 1, retryBaseDelayMs: 50 });
  const updater = await Updater.create({
    metadataBaseUrl: `${serverUrl}/metadata/`,
    targetBaseUrl: `${serverUrl}/targets/`,
    fetcher,
    metadataStore: new FsMetadataStore(layout.metadataDir),
  });
  let rebootRequested = false;
  const agent = await createAgent({
    slots,
    updater,
    hardwareId: HARDWARE_ID,
    stateDir: layout.stateDir, // events go to <stateDir>/events.jsonl (a FileReporter)
    healthChecks: [demoAppCheck(slots, options.onAppCheck)],
    healthCheckTimeoutMs: 15_000,
    tuning: TUNING,
    tries: 1,
    reboot:
      options.reboot ??
      (async () => {
        rebootRequested = true;
      }),
  });
  return {
    agent,
    slots,
    get rebootRequested() {
      return rebootRequested;
    },
    close: async () => {
      try {
        await agent.close();
      } finally {
        await fetcher.close();
      }
    },
  };
}

/** What the device looks like from outside, for the narration and the summary. */
export interface DeviceView {
  booted: SlotName;
  nextBoot: SlotName;
  bootable: Record<SlotName, boolean>;
  /** Version the agent committed last (`factory image` before the first update). */
  installed: string;
  /** Version in each slot's header (`empty` when there is no demo image). */
  slotVersions: Record<SlotName, string>;
}

/** Read the boot environment, the evidence, the agent's installed state and the slot headers. */
export async function inspectDevice(layout: DeviceLayout): Promise<DeviceView> {
  const status = await (await openSlots(layout)).status();
  const installed = await (await FsJournalStore.create(layout.stateDir)).readInstalled();
  const version = async (slot: SlotName) =>
    (await readFirmwareHeader(layout.slotDevices[slot]))?.version ?? 'no image';
  return {
    booted: status.booted,
    nextBoot: status.nextBoot,
    bootable: { A: status.slots.A.bootable, B: status.slots.B.bootable },
    installed: installed?.target?.version ?? 'factory image',
    slotVersions: { A: await version('A'), B: await version('B') },
  };
}
