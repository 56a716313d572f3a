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
 *   no journal / terminal:                   a NORMAL boot
 *     booted ≠ the installed state's slot  ─▶ fellBack: reported (ERR_TUF_UNEXPECTED_FALLBACK);
 *                                            the installed state follows what runs, floors stay
 *     confirmEveryBoot controllers         ─▶ 'always' (local) checks ─▶ confirmBooted, or left
 *                                            unconfirmed (the bootloader counts); then the update
 *                                            server is probed: unreachable is a warning only
 *   corrupt journal                       ─▶ StorageError reported; never activate: cancel a
 *                                            pending trial, reject an unaccounted trial boot,
 *                                            quarantine the file
 * ```
 *
 * Trial boot versus normal boot. The first boot of a newly activated slot is its trial: EVERY
 * health check runs, including the always-added update-server check (the new image must be able
 * to receive the next update), and any failure rejects the slot. Once committed, a release is
 * never given up because of the network: on later boots of controllers whose bootloader counts
 * every boot (`confirmEveryBoot`: RAUC-style U-Boot and GRUB), only the checks with
 * `when: 'always'` (local conditions) decide the confirmation; the update server is probed after
 * the confirmation and an unreachable server is reported as a `warning`. (Before, one offline boot
 * left a GRUB slot unconfirmed and the next boot silently ran the previous release.)
 *
 * A failing local check on a normal boot leaves the slot unconfirmed — not rejected — and is
 * reported as a failure: the release passed its trial, so one bad boot (a service slow to come up,
 * a transient fault) must not discard it, yet a release that keeps failing must not be kept alive
 * by the agent either. The bootloader's attempt counting arbitrates between the two (RAUC's
 * mark-good semantics): a later healthy boot confirms again; `maxTries` failing boots (one with
 * GRUB) fall back, which the next `resume()` reports as `fellBack`.
 *
 * Unexpected fallback. With no update in flight, the booted slot must be the installed state's
 * slot. If it is not, the bootloader gave up on the committed slot or someone changed the boot
 * environment: `resume()` returns `fellBack`, reports it, and records what really runs — the
 * image the agent last committed in that slot if the slot's bytes still hash to it, else
 * "unknown" — without touching the anti-rollback floors. The fallback slot is confirmed like any
 * normal boot (so the device settles there rather than flapping between slots); the next
 * `checkAndInstall` of the release installs it again as a fresh trial.
 *
 * Every step is idempotent and the journal is written before the step it announces has effects
 * that a restart could not redo, so a power cut anywhere either resumes or rolls back; the
 * fault-injection suite (`spec/device/fault-injection/`) kills the agent at each boundary.
 * Policy runs before any byte is written; anti-rollback floors rise only after
 * `confirmBooted()`; the booted slot is never written.
 *
 * Does not implement: fetching metadata (the {@link TargetSource}, normally the TUF `Updater`),
 * writing bytes (`install.ts`), persistence (`JournalStore`) or delta updates. Calls on one
 * instance are serialized; across processes, an agent that opens its `stateDir` holds
 * `<stateDir>/agent.lock` (a {@link PidLock}) from `create()` to `close()`, so a second agent on
 * the same directory is refused with `ERR_TUF_LOCKED` naming the first.
 *
 * Observability: `util.debuglog('tufota')`, `DEVICE_CHANNELS` (`reporter.ts`), the
 * {@link Reporter}.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import {
  DownloadError,
  HealthCheckError,
  InvalidStateError,
  LengthOrHashMismatchError,
  SlotError,
  StorageError,
  TargetNotFoundError,
  UnexpectedFallbackError,
} from '../errors.js';
import { TargetFile } from '../models/index.js';
import { FsJournalStore } from '../storage/fs-journal-store.js';
import { PidLock } from '../storage/pid-lock.js';
import {
  assertHealthChecks,
  type HealthCheck,
  type HealthCheckResult,
  healthCheckFailures,
  healthChecksFor,
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
  type JournalTarget,
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
  /**
   * Use this store instead of an `FsJournalStore` on `stateDir`. The caller then answers for
   * there being one agent per store: no lock is taken.
   */
  journalStore?: JournalStore;
  /** Who holds the state-directory lock, shown to a second agent refused (default: argv). */
  lockPurpose?: string;
  /**
   * Checks run on the trial boot of a new slot (all of them; the update-server check is always
   * added) and, on controllers with `confirmEveryBoot`, on every normal boot (only those with
   * `when: 'always'`, the default). See {@link HealthCheck.when}.
   */
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
  /**
   * Handed over to the agent: {@link UpdateAgent.close} closes them, in order, after the call in
   * progress (`createAgent` passes the `HttpFetcher` it built). The agent never closes `slots`,
   * `updater` or `reporter` on its own: they may be shared.
   */
  resources?: readonly { close(): Promise<void> | void }[];
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
   * - `fellBack`: nothing in flight, but the device booted a slot other than the committed one
   *   (`error.code` `ERR_TUF_UNEXPECTED_FALLBACK`); the installed state now records what runs,
   *   the floors are unchanged. Otherwise handled like `idle`.
   */
  outcome:
    | 'idle'
    | 'committed'
    | 'rolledBack'
    | 'failed'
    | 'rebooting'
    | 'pending'
    | 'recovered'
    | 'fellBack';
  journal?: Journal;
  /**
   * The checks that decided this boot: all of them on a trial boot; on a normal boot of a
   * `confirmEveryBoot` controller, the `when: 'always'` ones (absent where none ran).
   */
  healthChecks?: HealthCheckResult[];
  /**
   * Normal boots: advisory checks that failed without affecting the confirmation (the update
   * server could not be reached). Absent when there is none.
   */
  warnings?: HealthCheckResult[];
  /**
   * Why the outcome is not plain success: the update's failure, `ERR_TUF_UNEXPECTED_FALLBACK`,
   * or on a normal boot `ERR_TUF_HEALTH_CHECK` (a local check failed; the slot was left
   * unconfirmed).
   */
  error?: JournalError;
  install?: InstallResult;
}

/** The agent's persisted view. */
export interface AgentState {
  journal: Journal | undefined;
  installed: InstalledState | undefined;
}

const LOG_TAIL = 50;

/** The lock file an agent holds in its state directory. */
export const AGENT_LOCK_FILE = 'agent.lock';

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
  /** Every check: the trial boot runs them all (see `healthChecksFor` for normal boots). */
  readonly #checks: readonly HealthCheck[];
  /** The always-added update-server check: trial-only, probed as a warning on normal boots. */
  readonly #serverCheck: HealthCheck;
  readonly #checkTimeoutMs: number | undefined;
  readonly #reporter: Reporter;
  readonly #reportTimeoutMs: number;
  readonly #policy: UpdatePolicy;
  readonly #reboot: () => Promise<void>;
  readonly #tries: number;
  readonly #tuning: WriteTuning;
  readonly #resumeInstall: boolean;
  readonly #now: () => Date;
  readonly #resources: readonly { close(): Promise<void> | void }[];
  readonly #log: string[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(options: UpdateAgentOptions, store: JournalStore) {
    this.#slots = options.slots;
    this.#updater = options.updater;
    this.#hardwareId = options.hardwareId;
    this.#store = store;
    this.#serverCheck = updateServerCheck(options.updater);
    this.#checks = [...(options.healthChecks ?? []), this.#serverCheck];
    this.#checkTimeoutMs = options.healthCheckTimeoutMs;
    this.#reporter = options.reporter ?? NULL_REPORTER;
    this.#reportTimeoutMs = options.reportTimeoutMs ?? 10_000;
    this.#policy = options.policy ?? {};
    this.#reboot = options.reboot ?? systemctlReboot;
    this.#tries = options.tries ?? 1;
    this.#tuning = options.tuning ?? {};
    this.#resumeInstall = options.resumeInterruptedInstall ?? true;
    this.#now = options.now ?? (() => new Date());
    this.#resources = [...(options.resources ?? [])];
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
    assertHealthChecks(options.healthChecks ?? []);
    const tries = options.tries ?? 1;
    const maxTries = options.slots.capabilities().maxTries;
    if (!Number.isSafeInteger(tries) || tries < 1 || tries > maxTries) {
      throw new InvalidStateError(
        `tries must be 1 … ${maxTries} for this slot controller, got ${tries}`,
      );
    }
    if (options.journalStore !== undefined) return new UpdateAgent(options, options.journalStore);
    if (options.stateDir === undefined) {
      throw new InvalidStateError('UpdateAgent needs stateDir or journalStore');
    }
    const fsStore = await FsJournalStore.create(options.stateDir);
    // Two agents on one journal would each take the other's half-written slot for its own.
    const lock = await PidLock.acquire(path.join(fsStore.dir, AGENT_LOCK_FILE), {
      ...(options.lockPurpose !== undefined ? { purpose: options.lockPurpose } : {}),
    });
    return new UpdateAgent(
      // Released last, after every other resource, by close().
      { ...options, resources: [...(options.resources ?? []), { close: () => lock.release() }] },
      fsStore,
    );
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
   * anything else. See the module comment for the decision table. `signal` aborts an interrupted
   * download that resume continues: the outcome is then `pending` and the journal keeps the
   * verified prefix for the next start.
   *
   * @throws SlotError when the boot environment cannot be read or changed; StorageError when the
   *   installed state is corrupt.
   */
  resume(options: { signal?: AbortSignal } = {}): Promise<ResumeResult> {
    return this.#serialize(() => this.#resume(options.signal));
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

  /**
   * Stop accepting calls, wait for the one in progress, then close the {@link
   * UpdateAgentOptions.resources} handed to the agent (with `createAgent({ client })`: the
   * `HttpFetcher` it built, whose keep-alive sockets would otherwise hold the process open).
   * Idempotent. Abort a long `install` with its `signal` first if you cannot wait for it.
   *
   * @throws the first error a resource's `close()` threw (every resource is still closed).
   */
  close(): Promise<void> {
    this.#closing ??= this.#queue.then(async () => {
      let first: unknown;
      for (const resource of this.#resources) {
        try {
          await resource.close();
        } catch (error) {
          first ??= error;
        }
      }
      if (first !== undefined) throw first;
    });
    return this.#closing;
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

  async #resume(signal: AbortSignal | undefined): Promise<ResumeResult> {
    const booted = await this.#slots.bootedSlot();
    let journal: Journal | undefined;
    try {
      journal = await this.#store.readJournal();
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      return this.#recoverCorruptJournal(error, booted);
    }
    if (journal === undefined || isTerminalPhase(journal.phase)) {
      return this.#normalBoot(booted, journal);
    }
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
        return this.#continueInstall(journal, signal);
      case JournalPhase.Activated:
      case JournalPhase.Rebooting: {
        const status = await this.#slots.status();
        // `bootable` too: on GRUB an unconfirmed boot of the old slot makes the default entry the
        // next boot, whatever slot that is; a trial already tried and given up is not "armed".
        if (status.nextBoot === journal.slot && status.slots[journal.slot].bootable) {
          // Crashed between activation and the reboot: the trial is still armed.
          this.#note(
            `update ${journal.updateId}: trial of slot ${journal.slot} still pending; rebooting`,
          );
          await this.#rebootInto(journal);
          return { outcome: 'rebooting', journal };
        }
        await this.#confirmFallbackSlot(booted);
        return this.#conclude(journal, JournalPhase.RolledBack, {
          code: 'ERR_TUF_SLOT_FALLBACK',
          message: `the bootloader fell back to slot ${booted}: slot ${journal.slot} did not boot`,
        });
      }
      default: {
        // verifying, old slot booted: rejected by us, or the bootloader fell back mid-check.
        await this.#confirmFallbackSlot(booted);
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
      // The trial: every check, the update server included (healthChecksFor 'trial').
      results = await runHealthChecks(healthChecksFor(this.#checks, 'trial'), this.#checkOptions());
      const failed = healthCheckFailures(results);
      publishStep('health-checked', {
        boot: 'trial',
        slot: journal.slot,
        ok: failed.length === 0,
        failed,
      });
      if (failed.length === 0) return this.#commit(journal, results);
      const error = new HealthCheckError(
        `health checks failed: ${failed.map((f) => f.message).join('; ')}`,
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
    // Remember what each slot holds, so a later fallback to the previous slot can be identified
    // (by hash: an entry may be stale once an abandoned update overwrote that slot). A state
    // written before `slotImages` existed still names the previous slot's image.
    const slotImages = { ...installed?.slotImages };
    if (installed?.slot !== undefined && installed.target !== undefined) {
      slotImages[installed.slot] ??= installed.target;
    }
    slotImages[verifying.slot] = verifying.target;
    await this.#store.writeInstalled({
      slot: verifying.slot,
      target: verifying.target,
      slotImages,
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

  async #continueInstall(journal: Journal, signal: AbortSignal | undefined): Promise<ResumeResult> {
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
      const install = await this.#install(info, signal !== undefined ? { signal } : {});
      return { outcome: install.outcome === 'rebooting' ? 'rebooting' : 'idle', install };
    } catch (error) {
      const after = await this.#store.readJournal().catch(() => undefined);
      if (error instanceof DownloadError || signal?.aborted === true) {
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

  /**
   * No update in flight: a normal boot. Detect a fallback the agent did not order; where the
   * bootloader counts every boot, confirm on the local (`when: 'always'`) checks, then probe the
   * update server for a warning. See the module comment for why the network never decides here.
   */
  async #normalBoot(booted: SlotName, journal: Journal | undefined): Promise<ResumeResult> {
    const installed = await this.#store.readInstalled();
    const fellBack = installed?.slot !== undefined && installed.slot !== booted;
    if (fellBack) {
      this.#note(
        `booted slot ${booted}, but the installed state says slot ${installed?.slot}: a fallback this agent did not order`,
      );
    }
    const countsBoots = this.#slots.capabilities().confirmEveryBoot;
    // Confirm before anything slow (hashing the slot, the network): until then a RAUC-style
    // bootloader still counts this boot as a failed attempt.
    const settled = countsBoots ? await this.#confirmOnLocalChecks(booted) : undefined;
    const fallbackError =
      fellBack && installed !== undefined
        ? await this.#recordFallback(booted, installed)
        : undefined;
    if (settled !== undefined) {
      await this.#report(
        settled.error === undefined
          ? { phase: 'boot', slot: booted, result: 'success' }
          : {
              phase: 'boot',
              slot: booted,
              result: 'failure',
              error: settled.error,
              logTail: this.#tail(),
            },
      );
    }
    const warnings = countsBoots ? await this.#probeUpdateServer(booted) : [];
    const error = fallbackError ?? settled?.error;
    return {
      outcome: fellBack ? 'fellBack' : 'idle',
      ...(journal ? { journal } : {}),
      ...(settled ? { healthChecks: settled.results } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(error ? { error } : {}),
    };
  }

  /**
   * Run the normal-boot checks and confirm the booted slot if they pass. A failure leaves the slot
   * unconfirmed — never rejected: the bootloader's attempt counting decides (module comment).
   */
  async #confirmOnLocalChecks(
    booted: SlotName,
  ): Promise<{ results: HealthCheckResult[]; error?: JournalError }> {
    const results = await runHealthChecks(
      healthChecksFor(this.#checks, 'normal'),
      this.#checkOptions(),
    );
    const failed = healthCheckFailures(results);
    publishStep('health-checked', {
      boot: 'normal',
      slot: booted,
      ok: failed.length === 0,
      failed,
    });
    if (failed.length === 0) {
      await this.#slots.confirmBooted();
      publishStep('confirmed', { slot: booted });
      return { results };
    }
    const error = journalErrorOf(
      new HealthCheckError(
        `health checks failed on a normal boot of slot ${booted}; slot left unconfirmed, the bootloader's attempt counting decides (it falls back once the attempts are used up): ${failed.map((f) => f.message).join('; ')}`,
        { check: failed[0]?.name },
      ),
    );
    this.#note(error.message);
    return { results, error };
  }

  /**
   * Normal boots: can this device still reach and authenticate its update server? Only a warning:
   * the release proved it could during its trial, and a network outage is no reason to leave it.
   */
  async #probeUpdateServer(booted: SlotName): Promise<HealthCheckResult[]> {
    const [result] = await runHealthChecks([this.#serverCheck], this.#checkOptions());
    publishStep('update-server-probed', { ok: result?.ok === true });
    if (result === undefined || result.ok) return [];
    this.#note(
      `update server not reachable on this boot (a warning, not a fallback): ${result.error?.message}`,
    );
    await this.#report({
      phase: 'boot',
      slot: booted,
      result: 'warning',
      ...(result.error ? { error: result.error } : {}),
    });
    return [result];
  }

  /**
   * The device runs `booted`, not the installed state's slot, and nothing is in flight. Record
   * what really runs — the image last committed in `booted` if its bytes still match, else
   * unknown — keep the floors, and report it.
   *
   * Reported BEFORE the installed state changes: a power cut in between re-detects the fallback
   * on the next boot and reports it again (at least once), where the other order could lose it.
   */
  async #recordFallback(booted: SlotName, installed: InstalledState): Promise<JournalError> {
    const left = installed.slot as SlotName;
    const slotImages = { ...installed.slotImages };
    if (installed.target !== undefined) slotImages[left] ??= installed.target;
    const recorded = slotImages[booted];
    const running =
      recorded !== undefined && (await this.#slotHolds(booted, recorded)) ? recorded : undefined;
    if (running === undefined) delete slotImages[booted];
    const what = (t: JournalTarget | undefined) =>
      t === undefined ? 'an unidentified image' : `${t.path}${t.version ? ` ${t.version}` : ''}`;
    const error = journalErrorOf(
      new UnexpectedFallbackError(
        `booted slot ${booted} although the committed release (${what(installed.target)}) is in slot ${left} and no update is in flight: the bootloader gave up on slot ${left} (not confirmed within its attempts) or the boot environment was changed outside the agent. Now running ${what(running)}; the anti-rollback floors are unchanged`,
      ),
    );
    this.#note(error.message);
    await this.#report({
      phase: 'fellBack',
      slot: booted,
      result: 'failure',
      // What runs now (absent: unidentified), not the release the device left (`target`).
      installedVersion: running?.version,
      ...(installed.target !== undefined ? { target: installed.target } : {}),
      error,
      logTail: this.#tail(),
    });
    await this.#store.writeInstalled({
      slot: booted,
      ...(running !== undefined ? { target: running } : {}),
      ...(Object.keys(slotImages).length > 0 ? { slotImages } : {}),
      // Never lowered: a fallback is no reason to accept older releases again.
      floors: installed.floors,
      updatedAt: this.#now().toISOString(),
    });
    publishStep('fell-back', { from: left, slot: booted, identified: running !== undefined });
    return error;
  }

  /** Whether `slot`'s bytes are exactly `target` (a read of the slot; it is never written). */
  async #slotHolds(slot: SlotName, target: JournalTarget): Promise<boolean> {
    try {
      await verifySlotImage(
        this.#slots.slotDevice(slot),
        new TargetFile(target.path, target.length, { ...target.hashes }),
        this.#tuning.blockSize !== undefined ? { blockSize: this.#tuning.blockSize } : {},
      );
      return true;
    } catch (error) {
      this.#note(
        `slot ${slot} does not hold ${target.path} as recorded: ${(error as Error).message}`,
      );
      return false;
    }
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
    // A fallback detected here is reported by #normalBoot; the outcome stays `recovered`.
    const healthy = await this.#normalBoot(booted, undefined);
    return { ...healthy, outcome: 'recovered', error: failure };
  }

  /**
   * After a rollback the old slot runs the committed release: where every boot is counted it
   * needs this boot's confirmation now (on its local checks), like any normal boot. Found with a
   * real GRUB (spec/device/real-boot): left unconfirmed, no slot qualifies at the next power-on
   * and GRUB boots its default entry, which may be the slot that just failed.
   */
  async #confirmFallbackSlot(booted: SlotName): Promise<void> {
    if (this.#slots.capabilities().confirmEveryBoot) await this.#confirmOnLocalChecks(booted);
  }

  /** After a rollback, make sure no trial of the abandoned slot is still armed. */
  async #cancelStaleTrial(slot: SlotName): Promise<void> {
    const status = await this.#slots.status();
    // Only from a confirmed slot: cancelTrial() refuses while the running slot is itself on
    // trial (its local checks failed just now); the bootloader's counting decides then.
    if (status.nextBoot === slot && status.slots[status.booted].confirmed)
      await this.#slots.cancelTrial();
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

  /**
   * Report without ever failing or blocking the update for longer than the report timeout.
   * `installedVersion` comes from the installed state unless the event sets the key itself (even
   * to `undefined`: "not known").
   */
  async #report(event: ReportEvent): Promise<void> {
    const full: ReportEvent = { ...event, at: this.#now().toISOString() };
    if (!Object.hasOwn(event, 'installedVersion')) {
      try {
        const installed = await this.#store.readInstalled();
        if (installed?.target?.version !== undefined)
          full.installedVersion = installed.target.version;
      } catch {
        // A corrupt installed state is reported by the operation that needs it.
      }
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
    if (this.#closing !== undefined) {
      return Promise.reject(new InvalidStateError('this UpdateAgent is closed'));
    }
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
