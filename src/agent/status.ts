/**
 * `tufota-agent status`: the booted slot, the next boot, each slot, the installed release, the
 * floors, the update in flight, the last check and whether a daemon runs — read-only, no lock
 * taken, so it runs beside the daemon. `status --json` ({@link StatusResult}) is the stable
 * machine interface: fields are only ever added.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  AGENT_LOCK_FILE,
  FsJournalStore,
  isTerminalPhase,
  type Journal,
  readLockHolder,
} from '../device/index.js';
import type { SlotStatus } from '../device/slot-controller.js';
import { FsMetadataStore } from '../storage/fs-metadata-store.js';
import { isLive } from '../storage/pid-lock.js';
import { type CheckResult, errorOf, LAST_CHECK_FILE } from './commands.js';
import type { AgentConfig } from './config.js';
import { ecuPublicKey, storedCorrelationId } from './fleet-wiring.js';
import { openSlots } from './wiring.js';

/** What `status --json` prints: the stable machine interface. */
export interface StatusResult {
  format: 'tufota-agent-status-v1';
  hardwareId: string;
  slots: (SlotStatus & { profile: string }) | { error: { code: string; message: string } };
  installed: {
    slot?: string;
    path?: string;
    version?: string;
    releaseCounter?: number;
    floors: { version?: string; releaseCounter?: number };
    slotImages: Record<string, { path: string; version?: string }>;
  } | null;
  journal:
    | (Pick<
        Journal,
        'updateId' | 'phase' | 'slot' | 'fromSlot' | 'bytesVerified' | 'rejected' | 'updatedAt'
      > & {
        target: { path: string; version?: string; length: number };
        inFlight: boolean;
        error?: { code: string; message: string };
      })
    | null;
  lastCheck: CheckResult | null;
  /** Who holds the state directory (a running daemon), if anyone. */
  lock: { pid: number; purpose: string; since: string } | null;
  errors: { code: string; message: string }[];
  /**
   * Fleet mode only (absent otherwise): the server, this device's identity and key (absent until
   * the first start created it), and the correlation id of the director targets last verified.
   */
  fleet?: {
    url: string;
    deviceId: string;
    ecuSerial: string;
    provisioning: string;
    keyid?: string;
    publicKey?: unknown;
    correlationId?: string;
  };
}

/** `status`: everything a person or a fleet script wants to know, read-only (no lock taken). */
export async function statusCommand(config: AgentConfig): Promise<StatusResult> {
  const errors: StatusResult['errors'] = [];
  const store = await FsJournalStore.create(config.stateDir);
  let slots: StatusResult['slots'];
  try {
    const controller = await openSlots(config);
    slots = { ...(await controller.status()), profile: controller.capabilities().profile };
  } catch (error) {
    slots = { error: errorOf(error) };
    errors.push(errorOf(error));
  }
  let installed: StatusResult['installed'] = null;
  try {
    const state = await store.readInstalled();
    if (state !== undefined) {
      const images: Record<string, { path: string; version?: string }> = {};
      for (const [slot, t] of Object.entries(state.slotImages ?? {})) {
        if (t !== undefined)
          images[slot] = {
            path: t.path,
            ...(t.version !== undefined ? { version: t.version } : {}),
          };
      }
      installed = {
        ...(state.slot !== undefined ? { slot: state.slot } : {}),
        ...(state.target !== undefined ? { path: state.target.path } : {}),
        ...(state.target?.version !== undefined ? { version: state.target.version } : {}),
        ...(state.target?.releaseCounter !== undefined
          ? { releaseCounter: state.target.releaseCounter }
          : {}),
        floors: state.floors,
        slotImages: images,
      };
    }
  } catch (error) {
    errors.push(errorOf(error));
  }
  let journal: StatusResult['journal'] = null;
  try {
    const j = await store.readJournal();
    if (j !== undefined) {
      journal = {
        updateId: j.updateId,
        phase: j.phase,
        inFlight: !isTerminalPhase(j.phase),
        target: {
          path: j.target.path,
          ...(j.target.version !== undefined ? { version: j.target.version } : {}),
          length: j.target.length,
        },
        slot: j.slot,
        fromSlot: j.fromSlot,
        bytesVerified: j.bytesVerified,
        rejected: j.rejected,
        updatedAt: j.updatedAt,
        ...(j.error !== undefined ? { error: j.error } : {}),
      };
    }
  } catch (error) {
    errors.push(errorOf(error));
  }
  let lastCheck: CheckResult | null = null;
  try {
    lastCheck = JSON.parse(await fs.readFile(path.join(store.dir, LAST_CHECK_FILE), 'utf8'));
  } catch {}
  let lock: StatusResult['lock'] = null;
  try {
    const holder = await readLockHolder(path.join(store.dir, AGENT_LOCK_FILE));
    if (holder !== null && holder !== 'invalid') {
      if (isLive(holder))
        lock = { pid: holder.pid, purpose: holder.purpose, since: holder.acquiredAt };
    }
  } catch {}
  let fleet: StatusResult['fleet'];
  if (config.fleet !== undefined) {
    const f = config.fleet;
    const key = await ecuPublicKey(f.ecuKey);
    const correlationId = await storedCorrelationId(new FsMetadataStore(config.metadataDir)).catch(
      () => undefined,
    );
    fleet = {
      url: f.url,
      deviceId: f.deviceId,
      ecuSerial: f.ecuSerial,
      provisioning: f.provisioning.mode,
      ...(key !== undefined ? key : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
    };
  }
  return {
    format: 'tufota-agent-status-v1',
    hardwareId: config.hardwareId,
    slots,
    installed,
    journal,
    lastCheck,
    lock,
    errors,
    ...(fleet !== undefined ? { fleet } : {}),
  };
}

/** The human rendering of {@link StatusResult}. */
export function formatStatus(s: StatusResult): string {
  const lines: string[] = [];
  if ('error' in s.slots) lines.push(`boot slots:  unreadable: ${s.slots.error.message}`);
  else {
    lines.push(`booted slot: ${s.slots.booted}`);
    lines.push(`next boot:   ${s.slots.nextBoot}${s.slots.trialPending ? ' (trial pending)' : ''}`);
    for (const name of ['A', 'B'] as const) {
      const st = s.slots.slots[name];
      const image = s.installed?.slotImages[name];
      lines.push(
        `slot ${name}:      ${st.bootable ? 'bootable' : 'not bootable'}, ${st.confirmed ? 'confirmed' : 'unconfirmed'}` +
          `${image ? `, holds ${image.path}${image.version ? ` ${image.version}` : ''}` : ''}`,
      );
    }
  }
  const inst = s.installed;
  lines.push(
    `installed:   ${inst?.path ? `${inst.path}${inst.version ? ` ${inst.version}` : ''} (slot ${inst.slot})` : 'factory image (no update committed yet)'}`,
  );
  const floors = inst?.floors ?? {};
  lines.push(
    `floors:      version ${floors.version ?? 'none'}, releaseCounter ${floors.releaseCounter ?? 'none'}`,
  );
  const j = s.journal;
  lines.push(
    j === null
      ? 'update:      none'
      : `update:      ${j.target.path}${j.target.version ? ` ${j.target.version}` : ''} → slot ${j.slot}: ${j.phase}` +
          `${j.phase === 'writing' ? ` (${j.bytesVerified} of ${j.target.length} bytes)` : ''}` +
          `${j.error ? ` (${j.error.message})` : ''}`,
  );
  lines.push(
    s.lastCheck === null
      ? 'last check:  never'
      : `last check:  ${s.lastCheck.checkedAt}: ${s.lastCheck.action} (${s.lastCheck.reason})`,
  );
  lines.push(
    `agent:       ${s.lock ? `${s.lock.purpose} running (pid ${s.lock.pid}, since ${s.lock.since})` : 'not running'}`,
  );
  if (s.fleet !== undefined) {
    lines.push(
      `fleet:       ${s.fleet.deviceId} (ECU ${s.fleet.ecuSerial}) at ${s.fleet.url}, ${s.fleet.provisioning}` +
        `${s.fleet.keyid ? `, key ${s.fleet.keyid.slice(0, 16)}…` : ', no key yet'}` +
        `${s.fleet.correlationId ? `, update ${s.fleet.correlationId}` : ''}`,
    );
  }
  for (const e of s.errors) lines.push(`error:       ${e.code}: ${e.message}`);
  return lines.join('\n');
}
