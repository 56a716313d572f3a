/**
 * The device agent's journal: what the agent was doing when it last persisted, so a restart after
 * a power cut or a crash either resumes the update or concludes it (DESIGN.md, "Device side").
 *
 * ```
 * writing ─▶ written ─▶ activated ─▶ rebooting ─▶ verifying ─▶ committed
 *    │          │           │            │            └──────▶ rolledBack
 *    └──────────┴──▶ failed └────────────┴──▶ rolledBack (the bootloader fell back)
 * ```
 *
 * Also the device's {@link InstalledState}: the image the agent last committed and the
 * anti-rollback floors (`releaseCounter`, semantic `version`), kept in a separate record so a
 * corrupt journal loses at most the update in flight, never the floors.
 *
 * Implements: the record types, strict parsing (length cap, every field narrowed: the files are
 * local but a torn sector or a hand edit must fail loudly with a `StorageError`), serialization,
 * and the allowed phase transitions ({@link advanceJournal}). Does not implement storage (see
 * `storage/fs-journal-store.ts` and the {@link JournalStore} interface) nor decide what to do
 * in each phase (`agent.ts`).
 *
 * Pure: no I/O, no clock — timestamps are passed in. Safe for concurrent use (values only).
 *
 * @module
 */
import { StorageError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import {
  recordedHashesProblem,
  releaseCounterProblem,
  releaseVersionProblem,
} from '../models/target-conventions.js';
import { isSlotName, type SlotName } from './slot-controller.js';

/** Phases of one update, in order; the last three are terminal. */
export const JournalPhase = {
  /** The target slot is (being) invalidated and the image streamed into it. */
  Writing: 'writing',
  /** The image is in the slot, synced, re-read and verified; not yet activated. */
  Written: 'written',
  /** `activateTrial()` returned: the next boot tries the new slot. The commit point. */
  Activated: 'activated',
  /** The agent asked the system to reboot into the new slot. */
  Rebooting: 'rebooting',
  /** Booted the new slot; health checks run (or failed and the slot was rejected). */
  Verifying: 'verifying',
  /** Health checks passed, the slot is confirmed, the floors are raised. */
  Committed: 'committed',
  /** The device runs the old slot again: rejected, or the bootloader fell back. */
  RolledBack: 'rolledBack',
  /** The update stopped before activation (verification failed, target withdrawn). */
  Failed: 'failed',
} as const;
/** One of {@link JournalPhase}'s values. */
export type JournalPhase = (typeof JournalPhase)[keyof typeof JournalPhase];

const PHASES: readonly JournalPhase[] = Object.values(JournalPhase);

/** Phases after which nothing remains to do for that update. */
export const TERMINAL_PHASES: readonly JournalPhase[] = Object.freeze([
  JournalPhase.Committed,
  JournalPhase.RolledBack,
  JournalPhase.Failed,
]);

/** `true` for {@link TERMINAL_PHASES}. */
export function isTerminalPhase(phase: JournalPhase): boolean {
  return TERMINAL_PHASES.includes(phase);
}

/**
 * Which phase may follow which. `written → verifying` covers a power cut after
 * `activateTrial()` but before the journal said so: the next boot is already the new slot.
 * `writing → writing` records progress (`bytesVerified`); `verifying → verifying` records a
 * rejection before the reboot.
 */
const TRANSITIONS: Readonly<Record<JournalPhase, readonly JournalPhase[]>> = {
  writing: ['writing', 'written', 'failed'],
  written: ['activated', 'verifying', 'rolledBack', 'failed'],
  activated: ['rebooting', 'verifying', 'rolledBack'],
  rebooting: ['rebooting', 'verifying', 'rolledBack'],
  verifying: ['verifying', 'committed', 'rolledBack'],
  committed: [],
  rolledBack: [],
  failed: [],
};

/** Largest journal or installed-state file accepted (they hold a few hundred bytes). */
export const MAX_JOURNAL_BYTES = 64 * 1024;
/** Caps on strings inside the records. */
const MAX_PATH = 4096;
const MAX_MESSAGE = 2048;

/** What the journal remembers of the target: enough to check it is still the same target. */
export interface JournalTarget {
  /** Target path (the key in `targets.json`). */
  path: string;
  /** Exact length in bytes. */
  length: number;
  /** Every hash the trusted metadata listed, `{algorithm: hex}`. */
  hashes: Record<string, string>;
  /** `custom.version` (semantic version), if any. */
  version?: string;
  /** `custom.releaseCounter`, if any. */
  releaseCounter?: number;
}

/** A failure recorded in the journal and reported. */
export interface JournalError {
  /** The error's stable code (`ERR_TUF_*`). */
  code: string;
  /** Human-readable message, truncated to 2 KiB. */
  message: string;
}

/** The journal record of the update in flight (or the last one). */
export interface Journal {
  /** Random id of this update, to correlate reports. */
  updateId: string;
  phase: JournalPhase;
  target: JournalTarget;
  /** The slot being written (never the booted one). */
  slot: SlotName;
  /** The slot that was booted when the update started: the fallback. */
  fromSlot: SlotName;
  /** Bytes of the image durably written to the slot and fed to the verifier: resume point. */
  bytesVerified: number;
  /** Health checks failed and the new slot was (or is being) rejected. */
  rejected: boolean;
  /** ISO 8601 time the update started. */
  startedAt: string;
  /** ISO 8601 time of the last change. */
  updatedAt: string;
  /** Why the update failed or rolled back. */
  error?: JournalError;
}

/** Anti-rollback floors: a target below either is a downgrade. */
export interface Floors {
  /** Highest semantic version committed. */
  version?: string;
  /** Highest `releaseCounter` committed. */
  releaseCounter?: number;
}

/** What the device runs, as far as the agent committed it. */
export interface InstalledState {
  /**
   * The slot the device runs: the committed one, or after a fallback the agent did not order,
   * the slot it fell back to. `undefined` before the first update.
   */
  slot?: SlotName;
  /**
   * The image in {@link slot}; `undefined` before the first update and when the agent cannot
   * tell (a fallback to a slot whose bytes match no image it committed there).
   */
  target?: JournalTarget;
  /**
   * The image the agent last committed in each slot, as far as it knows. Not trusted by itself:
   * after a fallback the booted slot's entry is believed only if the slot's bytes still hash to
   * it. Never lowers or replaces {@link floors}.
   */
  slotImages?: Partial<Record<SlotName, JournalTarget>>;
  floors: Floors;
  /** ISO 8601 time of the last change. */
  updatedAt: string;
}

/**
 * Persistence of the journal and the installed state. Every write must be atomic and durable
 * (`FsJournalStore` uses write-temp, fsync, rename, fsync-dir).
 */
export interface JournalStore {
  /**
   * The journal, or `undefined` if there is none.
   *
   * @throws StorageError if it exists but cannot be read or is corrupt.
   */
  readJournal(): Promise<Journal | undefined>;
  /** Replace the journal, atomically and durably. */
  writeJournal(journal: Journal): Promise<void>;
  /** Move a corrupt journal aside (for post-mortems); returns where it went, if anywhere. */
  quarantineJournal(): Promise<string | undefined>;
  /**
   * The installed state, or `undefined` before the first commit.
   *
   * @throws StorageError if it exists but is corrupt: floors must never silently reset.
   */
  readInstalled(): Promise<InstalledState | undefined>;
  /** Replace the installed state, atomically and durably. */
  writeInstalled(state: InstalledState): Promise<void>;
}

/** The journal's view of a trusted target entry. */
export function journalTargetOf(info: TargetFile): JournalTarget {
  const target: JournalTarget = {
    path: info.path,
    length: info.length,
    hashes: { ...info.hashes },
  };
  const version = info.releaseVersion;
  const counter = info.releaseCounter;
  if (version !== undefined) target.version = version;
  if (counter !== undefined) target.releaseCounter = counter;
  return target;
}

/** `true` if both describe the same bytes: same path, length and every hash. */
export function sameTarget(a: JournalTarget, b: JournalTarget): boolean {
  const ka = Object.keys(a.hashes).sort();
  const kb = Object.keys(b.hashes).sort();
  return (
    a.path === b.path &&
    a.length === b.length &&
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && a.hashes[k]?.toLowerCase() === b.hashes[k]?.toLowerCase())
  );
}

/** Start a journal in phase `writing`. */
export function newJournal(init: {
  updateId: string;
  target: JournalTarget;
  slot: SlotName;
  fromSlot: SlotName;
  now: Date;
}): Journal {
  const at = iso(init.now);
  return {
    updateId: init.updateId,
    phase: JournalPhase.Writing,
    target: init.target,
    slot: init.slot,
    fromSlot: init.fromSlot,
    bytesVerified: 0,
    rejected: false,
    startedAt: at,
    updatedAt: at,
  };
}

/**
 * The journal moved to `phase` (with optional field changes).
 *
 * @throws StorageError if the transition is not allowed (a bug, or a journal edited by hand):
 *   the caller must not act on it.
 */
export function advanceJournal(
  journal: Journal,
  phase: JournalPhase,
  now: Date,
  patch: Partial<Pick<Journal, 'bytesVerified' | 'rejected' | 'error'>> = {},
): Journal {
  if (!TRANSITIONS[journal.phase].includes(phase)) {
    throw new StorageError(
      `journal of update ${journal.updateId}: cannot go from ${journal.phase} to ${phase}`,
    );
  }
  const next: Journal = { ...journal, ...patch, phase, updatedAt: iso(now) };
  if (patch.error !== undefined) next.error = capError(patch.error);
  return next;
}

/** A {@link JournalError} from anything thrown. */
export function journalErrorOf(error: unknown): JournalError {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'ERR_TUF';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return capError({ code, message });
}

/** JSON text of a journal (stable key order, trailing newline). */
export function serializeJournal(journal: Journal): string {
  return `${JSON.stringify({ format: JOURNAL_FORMAT, ...journal }, null, 2)}\n`;
}

/** JSON text of an installed state. */
export function serializeInstalled(state: InstalledState): string {
  return `${JSON.stringify({ format: INSTALLED_FORMAT, ...state }, null, 2)}\n`;
}

const JOURNAL_FORMAT = 'tufota-journal-v1';
const INSTALLED_FORMAT = 'tufota-installed-v1';

/**
 * Parse and validate a journal file's bytes.
 *
 * @throws StorageError naming the first bad field (the caller treats the journal as corrupt).
 */
export function parseJournal(bytes: Uint8Array, source: string): Journal {
  const o = parseObject(bytes, source, JOURNAL_FORMAT);
  const f = new Fields(o, source);
  const journal: Journal = {
    updateId: f.string('updateId', 128, /^[A-Za-z0-9._-]+$/),
    phase: f.oneOf('phase', PHASES),
    target: parseTarget(o.target, `${source}: target`),
    slot: f.slot('slot'),
    fromSlot: f.slot('fromSlot'),
    bytesVerified: f.count('bytesVerified'),
    rejected: f.boolean('rejected'),
    startedAt: f.time('startedAt'),
    updatedAt: f.time('updatedAt'),
  };
  if (o.error !== undefined) journal.error = parseError(o.error, `${source}: error`);
  if (journal.slot === journal.fromSlot) {
    throw new StorageError(`${source}: slot and fromSlot are both ${journal.slot}`);
  }
  if (journal.bytesVerified > journal.target.length) {
    throw new StorageError(
      `${source}: bytesVerified ${journal.bytesVerified} exceeds the target length ${journal.target.length}`,
    );
  }
  return journal;
}

/**
 * Parse and validate an installed-state file's bytes.
 *
 * @throws StorageError naming the first bad field.
 */
export function parseInstalled(bytes: Uint8Array, source: string): InstalledState {
  const o = parseObject(bytes, source, INSTALLED_FORMAT);
  const f = new Fields(o, source);
  const floorsRaw = o.floors;
  if (!isRecord(floorsRaw)) throw new StorageError(`${source}: floors must be an object`);
  const floors: Floors = {};
  if (floorsRaw.version !== undefined)
    floors.version = conventional(floorsRaw.version, `${source}: floors`, releaseVersionProblem);
  if (floorsRaw.releaseCounter !== undefined)
    floors.releaseCounter = conventional(
      floorsRaw.releaseCounter,
      `${source}: floors`,
      releaseCounterProblem,
    );
  const state: InstalledState = { floors, updatedAt: f.time('updatedAt') };
  if (o.slot !== undefined) state.slot = f.slot('slot');
  if (o.target !== undefined) state.target = parseTarget(o.target, `${source}: target`);
  if (o.slotImages !== undefined) {
    const raw = o.slotImages;
    if (!isRecord(raw)) throw new StorageError(`${source}: slotImages must be an object`);
    const images: Partial<Record<SlotName, JournalTarget>> = {};
    for (const [slot, target] of Object.entries(raw)) {
      if (!isSlotName(slot)) {
        throw new StorageError(`${source}: slotImages has a key that is not A or B`);
      }
      images[slot] = parseTarget(target, `${source}: slotImages.${slot}`);
    }
    state.slotImages = images;
  }
  return state;
}

// ---------------------------------------------------------------------------------------------

function iso(now: Date): string {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new StorageError('journal timestamps need a valid Date');
  }
  return now.toISOString();
}

function capError(error: JournalError): JournalError {
  return {
    code: error.code.slice(0, 64),
    message:
      error.message.length > MAX_MESSAGE
        ? `${error.message.slice(0, MAX_MESSAGE)}…`
        : error.message,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseObject(bytes: Uint8Array, source: string, format: string): Record<string, unknown> {
  if (bytes.byteLength > MAX_JOURNAL_BYTES) {
    throw new StorageError(
      `${source} is ${bytes.byteLength} bytes, more than ${MAX_JOURNAL_BYTES}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new StorageError(`${source} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isRecord(parsed)) throw new StorageError(`${source} must hold a JSON object`);
  if (parsed.format !== format) {
    throw new StorageError(`${source}: format must be ${format}, got ${String(parsed.format)}`);
  }
  return parsed;
}

function parseTarget(raw: unknown, source: string): JournalTarget {
  if (!isRecord(raw)) throw new StorageError(`${source} must be an object`);
  const f = new Fields(raw, source);
  const hashesRaw = raw.hashes;
  if (!isRecord(hashesRaw)) throw new StorageError(`${source}: hashes must be an object`);
  // The same rule the install policy applies before any write (models/target-conventions.ts),
  // so a target the policy let through can always be read back here.
  const hashesProblem = recordedHashesProblem(hashesRaw);
  if (hashesProblem !== undefined) throw new StorageError(`${source}: ${hashesProblem}`);
  const hashes: Record<string, string> = {};
  for (const [alg, hex] of Object.entries(hashesRaw)) hashes[alg] = hex as string;
  const target: JournalTarget = {
    path: f.string('path', MAX_PATH),
    length: f.count('length'),
    hashes,
  };
  if (raw.version !== undefined)
    target.version = conventional(raw.version, source, releaseVersionProblem);
  if (raw.releaseCounter !== undefined)
    target.releaseCounter = conventional(raw.releaseCounter, source, releaseCounterProblem);
  return target;
}

/** `value` when the shared target convention `check` accepts it; else a StorageError. */
function conventional<T>(
  value: unknown,
  source: string,
  check: (v: unknown) => string | undefined,
): T {
  const problem = check(value);
  if (problem !== undefined) throw new StorageError(`${source}: ${problem}`);
  return value as T;
}

function parseError(raw: unknown, source: string): JournalError {
  if (!isRecord(raw)) throw new StorageError(`${source} must be an object`);
  const f = new Fields(raw, source);
  return { code: f.string('code', 64), message: f.string('message', MAX_MESSAGE + 1) };
}

/** Narrowing helpers that name the file and field in their errors. */
class Fields {
  readonly #o: Record<string, unknown>;
  readonly #source: string;
  constructor(o: Record<string, unknown>, source: string) {
    this.#o = o;
    this.#source = source;
  }
  #fail(name: string, want: string): never {
    throw new StorageError(`${this.#source}: ${name} must be ${want}`);
  }
  string(name: string, max: number, pattern?: RegExp): string {
    const v = this.#o[name];
    if (
      typeof v !== 'string' ||
      v.length === 0 ||
      v.length > max ||
      (pattern && !pattern.test(v))
    ) {
      this.#fail(name, `a non-empty string of at most ${max} characters`);
    }
    return v;
  }
  count(name: string): number {
    const v = this.#o[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.#fail(name, 'a non-negative integer');
    }
    return v;
  }
  boolean(name: string): boolean {
    const v = this.#o[name];
    if (typeof v !== 'boolean') this.#fail(name, 'a boolean');
    return v;
  }
  slot(name: string): SlotName {
    const v = this.#o[name];
    if (!isSlotName(v)) this.#fail(name, 'A or B');
    return v;
  }
  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.#o[name];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.#fail(name, `one of ${values.join(', ')}`);
    }
    return v as T;
  }
  time(name: string): string {
    const v = this.#o[name];
    if (
      typeof v !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(v) ||
      Number.isNaN(Date.parse(v))
    ) {
      this.#fail(name, 'an ISO 8601 UTC time');
    }
    return v;
  }
}
