/**
 * `UpdateAgent`: the device side of an update, as a journaled state machine over a
 * {@link SlotController} (DESIGN.md, "Device side: the slot controller contract"):
 *
 * ```
 * install(info):  policy ─▶ journal writing ─▶ invalidate(slot) ─▶ stream+verify into slot
 *                 ─▶ fsync ─▶ re-read+hash ─▶ journal written ─▶ activateTrial (COMMIT POINT)
 *                 ─▶ journal activated ─▶ journal rebooting ─▶ reboot()
 * resume() on every start, by journal phase and booted slot:
 *   writing/written, old slot booted      ─▶ continue the install (resume from bytesVerified)
 *   written…verifying, NEW slot booted    ─▶ health checks ─▶ confirmBooted ─▶ raise floors ─▶ committed
 *                                            └ any failure/timeout ─▶ rejectBooted ─▶ reboot
 *   activated/rebooting, old slot booted  ─▶ trial still pending? reboot : the bootloader fell back ─▶ rolledBack
 *   verifying, old slot booted            ─▶ rolledBack (rejected, or the bootloader fell back)
 *   no journal / terminal                 ─▶ healthy boot (confirmBooted every boot if the
 *                                            controller needs it)
 *   corrupt journal                       ─▶ StorageError reported; never activate: cancel a
 *                                            pending trial, reject an unaccounted trial boot,
 *                                            quarantine the file
 * ```
 *
 * Every step is idempotent and the journal is written before the step it announces has effects
 * that a restart could not redo, so a power cut anywhere either resumes or rolls back; the
 * fault-injection suite (`spec/device/fault-injection/`) kills the agent at each boundary.
 * Policy runs before any byte is written; anti-rollback floors rise only after
 * `confirmBooted()`; the booted slot is never written.
 *
 * Does not implement: fetching metadata (the {@link TargetSource}, normally the TUF `Updater`),
 * writing bytes (`install.ts`), persistence (`JournalStore`), delta updates, or locking between
 * processes (run one agent per device). Calls on one instance are serialized.
 *
 * Observability: `util.debuglog('tufota')`, `DEVICE_CHANNELS` (`reporter.ts`), the
 * {@link Reporter}.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { debuglog } from 'node:util';
import {
  DownloadError,
  HealthCheckError,
  InvalidStateError,
  LengthOrHashMismatchError,
  SlotError,
  StorageError,
  TargetNotFoundError,
} from '../errors.js';
import type { TargetFile } from '../models/index.js';
import { FsJournalStore } from '../storage/fs-journal-store.js';
import {
  type HealthCheck,
  type HealthCheckResult,
  type RefreshableSource,
  runHealthChecks,
  updateServerCheck,
} from './health-checks.js';
import {
  type ImageStream,
  verifySlotImage,
  type WriteImageResult,
  type WriteTuning,
  writeImage,
} from './install.js';
import {
  advanceJournal,
  type InstalledState,
  isTerminalPhase,
  type Journal,
  type JournalError,
  JournalPhase,
  type JournalStore,
  journalErrorOf,
  journalTargetOf,
  newJournal,
  sameTarget,
} from './journal.js';
import { checkCompatibility, checkNotDowngrade, raiseFloors, type UpdatePolicy } from './policy.js';
import {
  NULL_REPORTER,
  publishPhase,
  publishStep,
  type ReportEvent,
  type Reporter,
} from './reporter.js';
import { otherSlot, type SlotController, SlotErrorCode, type SlotName } from './slot-controller.js';

const debug = debuglog('tufota');

/**
 * Where trusted target entries and their bytes come from. The TUF `Updater` satisfies it; a
 * source must only return `TargetFile`s it verified (signed metadata), since the agent trusts
 * their length and hashes.
 */
export interface TargetSource extends RefreshableSource {
  /** The trusted entry for `targetPath`, or `undefined` if no role lists it. */
  getTargetInfo(targetPath: string): Promise<TargetFile | undefined>;
  /** The target's bytes from `offset` (or from 0 if the source cannot resume). */
  openTarget(
    info: TargetFile,
    options: { offset?: number; signal?: AbortSignal },
  ): Promise<ImageStream>;
}

/** Options of {@link UpdateAgent.create}. */
export interface UpdateAgentOptions {
  /** The boot-slot controller (`FileSlotController`, `UbootEnvSlotController`, …). */
  slots: SlotController;
  /** The TUF client (or another verified source). Also used by the always-on health check. */
  updater: TargetSource;
  /** This device's hardware id; targets must list it in `custom.hardwareIds`. */
  hardwareId: string;
  /** Directory of the journal and installed state (an `FsJournalStore`). */
  stateDir?: string;
  /** Use this store instead of an `FsJournalStore` on `stateDir`. */
  journalStore?: JournalStore;
  /** Checks run after booting a new slot; the update-server check is always added. */
  healthChecks?: readonly HealthCheck[];
  /** Timeout of a check that sets none (default 30 s). */
  healthCheckTimeoutMs?: number;
  /** Receives an event per phase (default: none). */
  reporter?: Reporter;
  /** Longest wait for one report (default 10 s); reporting never fails an update. */
  reportTimeoutMs?: number;
  /** Device policy (anti-rollback, hardware ids). */
  policy?: UpdatePolicy;
  /**
   * Reboot the device (default: `systemctl reboot`). On a device this does not return usefully;
   * tests pass a function that plays the bootloader (`BootSimulator.simulateBoot()`).
   */
  reboot?: () => Promise<void>;
  /** Boot attempts of a new slot before the bootloader falls back (default 1). */
  tries?: number;
  /** Block size, checkpoint distance, identical-block skipping. */
  tuning?: WriteTuning;
  /** `resume()` continues an interrupted download (default `true`). */
  resumeInterruptedInstall?: boolean;
  /** The clock, for journal timestamps and reports (default: the system clock). */
  now?: () => Date;
}

/** Options of {@link UpdateAgent.install}. */
export interface InstallOptions {
  /** Install even if the booted slot already runs this exact target. */
  force?: boolean;
  signal?: AbortSignal;
}

/** What {@link UpdateAgent.install} did. */
export interface InstallResult {
  /** `up-to-date`: nothing written. `rebooting`: activated and `reboot()` called. */
  outcome: 'up-to-date' | 'rebooting';
  updateId?: string;
  /** The slot written. */
  slot?: SlotName;
  /** Transfer figures (absent when the slot already held the verified image). */
  write?: WriteImageResult;
}

/** What {@link UpdateAgent.resume} concluded. */
export interface ResumeResult {
  /**
   * - `idle`: nothing in flight (a healthy boot; confirmed if the controller needs it).
   * - `committed` / `rolledBack` / `failed`: the update in flight was concluded so.
   * - `rebooting`: `reboot()` was called (after activation, or to roll back).
   * - `pending`: an interrupted install could not continue now (network down); retry later.
   * - `recovered`: the journal was corrupt; the safe conclusion was applied.
   */
  outcome: 'idle' | 'committed' | 'rolledBack' | 'failed' | 'rebooting' | 'pending' | 'recovered';
  journal?: Journal;
  healthChecks?: HealthCheckResult[];
  error?: JournalError;
  install?: InstallResult;
}

/** The agent's persisted view. */
export interface AgentState {
  journal: Journal | undefined;
  installed: InstalledState | undefined;
}

const LOG_TAIL = 50;

/**
 * The update agent.
 *
 * @example
 * ```ts
 * const agent = await UpdateAgent.create({
 *   slots, updater, hardwareId: 'board-rev-b', stateDir: '/var/lib/tufota/agent',
 *   healthChecks: [systemdUnitCheck('myapp.service')],
 *   reporter: new HttpReporter({ url: 'https://fleet.example.com/events' }),
 * });
 * await agent.resume();                                  // on every start
 * await agent.checkAndInstall('firmware/board-rev-b.img'); // reboots into the new slot
 * ```
 */
export class UpdateAgent {
  readonly #slots: SlotController;
  readonly #updater: TargetSource;
  readonly #hardwareId: string;
  readonly #store: JournalStore;
  readonly #checks: readonly HealthCheck[];
  readonly #checkTimeoutMs: number | undefined;
  readonly #reporter: Reporter;
  readonly #reportTimeoutMs: number;
  readonly #policy: UpdatePolicy;
  readonly #reboot: () => Promise<void>;
  readonly #tries: number;
  readonly #tuning: WriteTuning;
  readonly #resumeInstall: boolean;
  readonly #now: () => Date;
  readonly #log: string[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: UpdateAgentOptions, store: JournalStore) {
    this.#slots = options.slots;
    this.#updater = options.updater;
    this.#hardwareId = options.hardwareId;
    this.#store = store;
    this.#checks = [...(options.healthChecks ?? []), updateServerCheck(options.updater)];
    this.#checkTimeoutMs = options.healthCheckTimeoutMs;
    this.#reporter = options.reporter ?? NULL_REPORTER;
    this.#reportTimeoutMs = options.reportTimeoutMs ?? 10_000;
    this.#policy = options.policy ?? {};
    this.#reboot = options.reboot ?? systemctlReboot;
    this.#tries = options.tries ?? 1;
    this.#tuning = options.tuning ?? {};
    this.#resumeInstall = options.resumeInterruptedInstall ?? true;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Validate the options and open the state directory (no boot-environment I/O).
   *
   * @throws InvalidStateError for missing or contradictory options.
   */
  static async create(options: UpdateAgentOptions): Promise<UpdateAgent> {
    if (options?.slots === undefined || options.updater === undefined) {
      throw new InvalidStateError('UpdateAgent needs slots and updater');
    }
    if (typeof options.hardwareId !== 'string' || options.hardwareId === '') {
      throw new InvalidStateError('UpdateAgent needs the device hardwareId');
    }
    const tries = options.tries ?? 1;
    const maxTries = options.slots.capabilities().maxTries;
    if (!Number.isSafeInteger(tries) || tries < 1 || tries > maxTries) {
      throw new InvalidStateError(
        `tries must be 1 … ${maxTries} for this slot controller, got ${tries}`,
      );
    }
    let store = options.journalStore;
    if (store === undefined) {
      if (options.stateDir === undefined) {
        throw new InvalidStateError('UpdateAgent needs stateDir or journalStore');
      }
      store = await FsJournalStore.create(options.stateDir);
    }
    return new UpdateAgent(options, store);
  }

  /** The journal and installed state as persisted (for status commands). */
  async state(): Promise<AgentState> {
    return {
      journal: await this.#store.readJournal(),
      installed: await this.#store.readInstalled(),
    };
  }

  /**
   * Conclude or continue whatever the journal says was in flight. Call on every start, before
   * anything else. See the module comment for the decision table.
   *
   * @throws SlotError when the boot environment cannot be read or changed; StorageError when the
   *   installed state is corrupt.
   */
  resume(): Promise<ResumeResult> {
    return this.#serialize(() => this.#resume());
  }

  /**
   * Refresh trusted metadata, look `targetPath` up and {@link install} it.
   *
   * @throws TargetNotFoundError `ERR_TUF_TARGET_NOT_FOUND` if no role lists it; see
   *   {@link install}.
   */
  checkAndInstall(targetPath: string, options: InstallOptions = {}): Promise<InstallResult> {
    return this.#serialize(async () => {
      await this.#updater.refresh();
      const info = await this.#updater.getTargetInfo(targetPath);
      if (info === undefined) {
        throw new TargetNotFoundError(`no trusted targets role lists ${targetPath}`);
      }
      return this.#install(info, options);
    });
  }

  /**
   * Install a trusted target into the inactive slot and reboot into it for a trial.
   *
   * @throws IncompatibleTargetError, DowngradeError, PolicyError before anything is written.
   * @throws LengthOrHashMismatchError if the bytes are not the target (journal `failed`; the slot
   *   stays invalid; the device keeps booting the current slot).
   * @throws DownloadError on transport failure (journal stays `writing`: a later call resumes).
   * @throws InvalidStateError while an activated update awaits {@link resume}.
   * @throws StorageError on a corrupt journal (call {@link resume} first) or installed state.
   */
  install(info: TargetFile, options: InstallOptions = {}): Promise<InstallResult> {
    return this.#serialize(() => this.#install(info, options));
  }

  // -------------------------------------------------------------------------------------------
  // install

  async #install(info: TargetFile, options: InstallOptions): Promise<InstallResult> {
    const target = journalTargetOf(info);
    const installed = await this.#store.readInstalled();
    try {
      checkCompatibility(info, this.#hardwareId, this.#policy);
      checkNotDowngrade(info, installed?.floors ?? {}, this.#policy);
    } catch (error) {
      this.#note(`refused ${info.path}: ${(error as Error).message}`);
      await this.#report({
        phase: 'refused',
        target,
        result: 'failure',
        error: journalErrorOf(error),
      });
      throw error;
    }
    publishStep('policy-checked', { path: info.path });

    let journal = await this.#store.readJournal();
    if (journal !== undefined && !isTerminalPhase(journal.phase) && !isWritePhase(journal.phase)) {
      throw new InvalidStateError(
        `update ${journal.updateId} is ${journal.phase}: call resume() to conclude it before installing another`,
      );
    }
    const booted = await this.#slots.bootedSlot();
    const slot = await this.#slots.updateTarget();
    const device = this.#slots.slotDevice(slot);
    if (slot === booted || device === this.#slots.slotDevice(booted)) {
      throw new SlotError(
        `refusing to write slot ${slot}: it is (or shares a device with) the booted slot`,
        {},
        SlotErrorCode.BootedSlot,
      );
    }
    if (
      options.force !== true &&
      installed?.slot === booted &&
      installed.target !== undefined &&
      sameTarget(installed.target, target)
    ) {
      this.#note(`${info.path} is already installed in slot ${booted}`);
      await this.#report({ phase: 'idle', target, result: 'success' });
      return { outcome: 'up-to-date' };
    }

    const resuming =
      journal !== undefined &&
      isWritePhase(journal.phase) &&
      journal.slot === slot &&
      journal.fromSlot === booted &&
      sameTarget(journal.target, target);
    if (!resuming || journal === undefined) {
      journal = newJournal({
        updateId: randomUUID(),
        target,
        slot,
        fromSlot: booted,
        now: this.#now(),
      });
      await this.#saveJournal(journal);
      this.#note(`update ${journal.updateId}: ${info.path} → slot ${slot}`);
    } else {
      this.#note(
        `update ${journal.updateId}: resuming ${journal.phase} at byte ${journal.bytesVerified}`,
      );
    }
    await this.#report({ phase: JournalPhase.Writing, updateId: journal.updateId, target });

    // Before the first byte: a power cut from here on can never boot a torn slot.
    await this.#slots.invalidate(slot);
    publishStep('invalidated', { slot });

    let write: WriteImageResult | undefined;
    try {
      if (journal.phase === JournalPhase.Writing) {
        write = await this.#writeWithRetry(
          info,
          device,
          journal,
          (j) => {
            journal = j;
          },
          options.signal,
        );
        journal = advanceJournal(journal, JournalPhase.Written, this.#now(), {
          bytesVerified: info.length,
        });
        await this.#saveJournal(journal);
      }
      // Always re-read what is on the medium right before the commit point.
      await verifySlotImage(device, info, {
        ...(this.#tuning.blockSize !== undefined ? { blockSize: this.#tuning.blockSize } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      publishStep('verified', { slot });
    } catch (error) {
      const transient = error instanceof DownloadError || options.signal?.aborted === true;
      const current = journal;
      if (!transient && current !== undefined && !isTerminalPhase(current.phase)) {
        journal = advanceJournal(current, JournalPhase.Failed, this.#now(), {
          error: journalErrorOf(error),
        });
        await this.#saveJournal(journal);
      }
      this.#note(
        `update ${current.updateId}: ${transient ? 'interrupted' : 'failed'}: ${(error as Error).message}`,
      );
      await this.#report({
        phase: transient ? JournalPhase.Writing : JournalPhase.Failed,
        updateId: current.updateId,
        target,
        result: transient ? 'pending' : 'failure',
        error: journalErrorOf(error),
        logTail: this.#tail(),
      });
      throw error;
    }
    await this.#report({
      phase: JournalPhase.Written,
      updateId: journal.updateId,
      target,
      result: 'success',
    });

    // THE commit point: one atomic write of the boot environment.
    await this.#slots.activateTrial(slot, { tries: this.#tries });
    publishStep('activated', { slot });
    journal = advanceJournal(journal, JournalPhase.Activated, this.#now());
    await this.#saveJournal(journal);
    await this.#report({ phase: JournalPhase.Activated, updateId: journal.updateId, target });
    await this.#rebootInto(journal);
    return {
      outcome: 'rebooting',
      updateId: journal.updateId,
      slot,
      ...(write !== undefined ? { write } : {}),
    };
  }

  /** Stream into the slot; a resumed transfer that fails verification is retried once from 0. */
  async #writeWithRetry(
    info: TargetFile,
    device: string,
    start: Journal,
    update: (journal: Journal) => void,
    signal: AbortSignal | undefined,
  ): Promise<WriteImageResult> {
    let journal = start;
    const attempt = (resumeFrom: number) =>
      writeImage({
        ...this.#tuning,
        info,
        device,
        resumeFrom,
        open: (offset, s) =>
          this.#updater.openTarget(info, { offset, ...(s ? { signal: s } : {}) }),
        onCheckpoint: async (bytesVerified) => {
          journal = advanceJournal(journal, JournalPhase.Writing, this.#now(), { bytesVerified });
          update(journal);
          await this.#saveJournal(journal);
        },
        ...(signal !== undefined ? { signal } : {}),
      });
    try {
      return await attempt(start.bytesVerified);
    } catch (error) {
      // Only a resumed transfer is retried: its prefix came from the slot, not the source.
      if (!(error instanceof LengthOrHashMismatchError) || start.bytesVerified === 0) throw error;
      this.#note(
        `resumed transfer failed verification (${error.message}); starting over from byte 0`,
      );
      journal = advanceJournal(journal, JournalPhase.Writing, this.#now(), { bytesVerified: 0 });
      update(journal);
      await this.#saveJournal(journal);
      return attempt(0);
    }
  }

  async #rebootInto(activated: Journal): Promise<void> {
    const journal = advanceJournal(activated, JournalPhase.Rebooting, this.#now());
    await this.#saveJournal(journal);
    await this.#report({
      phase: JournalPhase.Rebooting,
      updateId: journal.updateId,
      target: journal.target,
    });
    this.#note(`update ${journal.updateId}: rebooting into slot ${journal.slot}`);
    publishStep('reboot', { slot: journal.slot });
    await this.#reboot();
  }

  // -------------------------------------------------------------------------------------------
  // resume

  async #resume(): Promise<ResumeResult> {
    const booted = await this.#slots.bootedSlot();
    let journal: Journal | undefined;
    try {
      journal = await this.#store.readJournal();
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      return this.#recoverCorruptJournal(error, booted);
    }
    if (journal === undefined || isTerminalPhase(journal.phase)) return this.#healthyBoot(journal);
    this.#note(`resume: journal ${journal.updateId} is ${journal.phase}; booted slot ${booted}`);
    publishStep('resume', { phase: journal.phase, booted });

    if (booted === journal.slot) {
      if (journal.phase === JournalPhase.Writing) {
        // The slot was invalidated before its first byte: booting it means something outside
        // this agent changed the boot environment. Do not trust or confirm it.
        return this.#conclude(journal, JournalPhase.Failed, {
          code: 'ERR_TUF_SLOT_STATE',
          message: `slot ${booted} booted although update ${journal.updateId} was still writing it`,
        });
      }
      // written (power cut right after activateTrial), activated, rebooting, verifying.
      return this.#verifyBooted(journal);
    }
    if (booted !== journal.fromSlot) {
      throw new SlotError(
        `booted slot ${booted} is neither the update's slot nor its fallback`,
        {},
        SlotErrorCode.State,
      );
    }
    switch (journal.phase) {
      case JournalPhase.Writing:
      case JournalPhase.Written:
        return this.#continueInstall(journal);
      case JournalPhase.Activated:
      case JournalPhase.Rebooting: {
        const status = await this.#slots.status();
        if (status.nextBoot === journal.slot) {
          // Crashed between activation and the reboot: the trial is still armed.
          this.#note(
            `update ${journal.updateId}: trial of slot ${journal.slot} still pending; rebooting`,
          );
          await this.#rebootInto(journal);
          return { outcome: 'rebooting', journal };
        }
        return this.#conclude(journal, JournalPhase.RolledBack, {
          code: 'ERR_TUF_SLOT_FALLBACK',
          message: `the bootloader fell back to slot ${booted}: slot ${journal.slot} did not boot`,
        });
      }
      default: {
        // verifying, old slot booted: rejected by us, or the bootloader fell back mid-check.
        await this.#cancelStaleTrial(journal.slot);
        return this.#conclude(
          journal,
          JournalPhase.RolledBack,
          journal.error ?? {
            code: 'ERR_TUF_SLOT_FALLBACK',
            message: `the bootloader fell back to slot ${booted} before slot ${journal.slot} was confirmed`,
          },
        );
      }
    }
  }

  /** Running the new slot: check health, then confirm and commit, or reject and reboot. */
  async #verifyBooted(start: Journal): Promise<ResumeResult> {
    let journal = start;
    if (journal.phase !== JournalPhase.Verifying) {
      journal = advanceJournal(journal, JournalPhase.Verifying, this.#now());
      await this.#saveJournal(journal);
      await this.#report({
        phase: JournalPhase.Verifying,
        updateId: journal.updateId,
        target: journal.target,
      });
    }
    let results: HealthCheckResult[] | undefined;
    if (!journal.rejected) {
      results = await runHealthChecks(this.#checks, this.#checkOptions());
      publishStep('health-checked', { ok: results.every((r) => r.ok) });
      const failed = results.filter((r) => !r.ok);
      if (failed.length === 0) return this.#commit(journal, results);
      const error = new HealthCheckError(
        `health checks failed: ${failed.map((r) => r.error?.message ?? r.name).join('; ')}`,
        { check: failed[0]?.name },
      );
      this.#note(error.message);
      journal = advanceJournal(journal, JournalPhase.Verifying, this.#now(), {
        rejected: true,
        error: journalErrorOf(error),
      });
      await this.#saveJournal(journal);
    }
    // Rejected (now, or before a crash): make the bootloader fall back, then reboot.
    await this.#slots.rejectBooted();
    publishStep('rejected', { slot: journal.slot });
    await this.#report({
      phase: JournalPhase.Verifying,
      updateId: journal.updateId,
      target: journal.target,
      result: 'failure',
      ...(journal.error ? { error: journal.error } : {}),
      logTail: this.#tail(),
    });
    publishStep('reboot', { slot: journal.fromSlot });
    await this.#reboot();
    return { outcome: 'rebooting', journal, ...(results ? { healthChecks: results } : {}) };
  }

  async #commit(verifying: Journal, results: HealthCheckResult[]): Promise<ResumeResult> {
    await this.#slots.confirmBooted();
    publishStep('confirmed', { slot: verifying.slot });
    // Only now, after confirmBooted(): the floors rise (a rolled-back update never raises them).
    const installed = await this.#store.readInstalled();
    await this.#store.writeInstalled({
      slot: verifying.slot,
      target: verifying.target,
      floors: raiseFloors(installed?.floors ?? {}, verifying.target),
      updatedAt: this.#now().toISOString(),
    });
    publishStep('floors-raised', { slot: verifying.slot });
    const result = await this.#conclude(verifying, JournalPhase.Committed);
    return { ...result, healthChecks: results };
  }

  /** Write a terminal phase and report it. */
  async #conclude(
    start: Journal,
    phase:
      | typeof JournalPhase.Committed
      | typeof JournalPhase.RolledBack
      | typeof JournalPhase.Failed,
    error?: JournalError,
  ): Promise<ResumeResult> {
    const journal = advanceJournal(start, phase, this.#now(), error ? { error } : {});
    await this.#saveJournal(journal);
    this.#note(`update ${journal.updateId}: ${phase}${error ? ` (${error.message})` : ''}`);
    await this.#report({
      phase,
      updateId: journal.updateId,
      target: journal.target,
      result: phase === JournalPhase.Committed ? 'success' : 'failure',
      ...(journal.error && phase !== JournalPhase.Committed ? { error: journal.error } : {}),
      ...(phase !== JournalPhase.Committed ? { logTail: this.#tail() } : {}),
    });
    return {
      outcome: phase,
      journal,
      ...(journal.error && phase !== JournalPhase.Committed ? { error: journal.error } : {}),
    };
  }

  async #continueInstall(journal: Journal): Promise<ResumeResult> {
    if (!this.#resumeInstall) return { outcome: 'pending', journal };
    let info: TargetFile | undefined;
    try {
      info = await this.#updater.getTargetInfo(journal.target.path);
    } catch (error) {
      this.#note(`cannot look up ${journal.target.path} to resume: ${(error as Error).message}`);
      return { outcome: 'pending', journal, error: journalErrorOf(error) };
    }
    if (info === undefined || !sameTarget(journalTargetOf(info), journal.target)) {
      // Withdrawn or replaced: the partial slot stays invalid; the next check installs anew.
      return this.#conclude(journal, JournalPhase.Failed, {
        code: 'ERR_TUF_TARGET_NOT_FOUND',
        message: `target ${journal.target.path} is no longer listed as journaled; abandoning update ${journal.updateId}`,
      });
    }
    try {
      const install = await this.#install(info, {});
      return { outcome: install.outcome === 'rebooting' ? 'rebooting' : 'idle', install };
    } catch (error) {
      const after = await this.#store.readJournal().catch(() => undefined);
      if (error instanceof DownloadError) {
        return {
          outcome: 'pending',
          ...(after ? { journal: after } : {}),
          error: journalErrorOf(error),
        };
      }
      if (after?.phase === JournalPhase.Failed) {
        return { outcome: 'failed', journal: after, error: journalErrorOf(error) };
      }
      throw error;
    }
  }

  /** No update in flight: confirm the booted slot after health checks where every boot needs it. */
  async #healthyBoot(journal: Journal | undefined): Promise<ResumeResult> {
    const base: ResumeResult = { outcome: 'idle', ...(journal ? { journal } : {}) };
    if (!this.#slots.capabilities().confirmEveryBoot) return base;
    const results = await runHealthChecks(this.#checks, this.#checkOptions());
    const failed = results.filter((r) => !r.ok);
    if (failed.length === 0) {
      await this.#slots.confirmBooted();
      publishStep('confirmed', {});
      await this.#report({ phase: 'boot', result: 'success' });
      return { ...base, healthChecks: results };
    }
    // Not confirmed: the bootloader's attempt counting decides (RAUC's mark-good semantics).
    const error = {
      code: 'ERR_TUF_HEALTH_CHECK',
      message: `health checks failed; slot left unconfirmed: ${failed.map((r) => r.error?.message ?? r.name).join('; ')}`,
    };
    this.#note(error.message);
    await this.#report({ phase: 'boot', result: 'failure', error, logTail: this.#tail() });
    return { ...base, healthChecks: results, error };
  }

  /**
   * The journal cannot be trusted: never activate. Cancel a trial of the other slot that has not
   * booted yet; reject a trial we are running unless the installed state says it is the
   * committed slot; keep the file for a post-mortem.
   */
  async #recoverCorruptJournal(error: StorageError, booted: SlotName): Promise<ResumeResult> {
    const failure = journalErrorOf(error);
    this.#note(`journal is corrupt: ${error.message}`);
    const moved = await this.#store.quarantineJournal();
    if (moved !== undefined) this.#note(`corrupt journal moved to ${moved}`);
    const installed = await this.#store.readInstalled();
    await this.#report({
      phase: JournalPhase.Failed,
      result: 'failure',
      error: failure,
      logTail: this.#tail(),
    });
    // cancelTrial() disarms a switch to the other slot that has not booted yet, and refuses
    // (SlotError state) when the running slot is itself on trial or rejected: a
    // profile-independent way to tell the two apart.
    let runningUnconfirmed = false;
    try {
      await this.#slots.cancelTrial();
      publishStep('trial-cancelled', {});
    } catch (cancelError) {
      if (!(cancelError instanceof SlotError) || cancelError.code !== SlotErrorCode.State)
        throw cancelError;
      runningUnconfirmed = true;
    }
    if (runningUnconfirmed && installed?.slot !== booted) {
      // Running an image we cannot account for: fall back to the other slot.
      await this.#slots.rejectBooted();
      publishStep('rejected', { slot: booted });
      publishStep('reboot', { slot: otherSlot(booted) });
      await this.#reboot();
      return { outcome: 'rebooting', error: failure };
    }
    const healthy = await this.#healthyBoot(undefined);
    return { ...healthy, outcome: 'recovered', error: failure };
  }

  /** After a rollback, make sure no trial of the abandoned slot is still armed. */
  async #cancelStaleTrial(slot: SlotName): Promise<void> {
    const status = await this.#slots.status();
    if (status.nextBoot === slot) await this.#slots.cancelTrial();
  }

  // -------------------------------------------------------------------------------------------
  // plumbing

  #checkOptions(): { defaultTimeoutMs?: number } {
    return this.#checkTimeoutMs === undefined ? {} : { defaultTimeoutMs: this.#checkTimeoutMs };
  }

  async #saveJournal(journal: Journal): Promise<void> {
    await this.#store.writeJournal(journal);
    publishStep(`journal:${journal.phase}`, { bytesVerified: journal.bytesVerified });
  }

  #note(message: string): void {
    debug('agent: %s', message);
    this.#log.push(`${this.#now().toISOString()} ${message}`);
    if (this.#log.length > LOG_TAIL) this.#log.splice(0, this.#log.length - LOG_TAIL);
  }

  #tail(): string[] {
    return this.#log.slice(-20);
  }

  /** Report without ever failing or blocking the update for longer than the report timeout. */
  async #report(event: ReportEvent): Promise<void> {
    const full: ReportEvent = { ...event, at: this.#now().toISOString() };
    try {
      const installed = await this.#store.readInstalled();
      if (installed?.target?.version !== undefined)
        full.installedVersion = installed.target.version;
    } catch {
      // A corrupt installed state is reported by the operation that needs it.
    }
    publishPhase(full);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve()
          .then(() => this.#reporter.report(full))
          .catch((error) => debug('agent: reporter failed: %s', (error as Error).message)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#reportTimeoutMs);
          timer.unref();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function isWritePhase(phase: Journal['phase']): boolean {
  return phase === JournalPhase.Writing || phase === JournalPhase.Written;
}

/** The default reboot: `systemctl reboot` (returns once systemd accepted the job). */
function systemctlReboot(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('systemctl', ['reboot'], { timeout: 30_000 }, (error) =>
      error
        ? reject(new SlotError(`systemctl reboot failed: ${error.message}`, { cause: error }))
        : resolve(),
    );
  });
}
