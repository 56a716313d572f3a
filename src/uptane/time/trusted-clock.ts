/**
 * `TrustedClock`: the time an ECU checks expiry against (Uptane Standard 2.1.0 §5.4.3.1, "Load
 * and verify the latest attested time"), with a persisted floor that never goes backwards. Each
 * reading raises the floor to the system time; a system clock found behind the floor (a dead RTC
 * battery, or an attacker setting the clock back so that expired metadata looks valid) is
 * refused with `clock-behind-floor` instead of being used, and the ECU reports it.
 *
 * The floor store is an interface: {@link MemoryClockFloorStore} here, `FileClockFloorStore` in
 * `file-clock-floor-store.ts`. A secure time server (the standard's optional time attestations)
 * would raise the floor through {@link TrustedClock.advanceTo}; none is implemented.
 *
 * Calls are serialized, so one instance is safe for concurrent use.
 *
 * @module
 */
import { InvalidStateError, UptaneAttack, UptaneError } from '../../errors.js';

/** Where the floor is persisted. */
export interface ClockFloorStore {
  /** The persisted floor, or `undefined` when there is none yet. */
  read(): Promise<Date | undefined>;
  /** Persist `floor` atomically and durably. */
  write(floor: Date): Promise<void>;
}

/** A floor kept in memory (tests; devices persist it with `FileClockFloorStore`). */
export class MemoryClockFloorStore implements ClockFloorStore {
  floor: Date | undefined;
  constructor(floor?: Date) {
    this.floor = floor;
  }
  async read(): Promise<Date | undefined> {
    return this.floor;
  }
  async write(floor: Date): Promise<void> {
    this.floor = new Date(floor.getTime());
  }
}

/** Options of {@link TrustedClock}. */
export interface TrustedClockOptions {
  store: ClockFloorStore;
  /** The system clock (default `new Date()`); tests inject one. */
  systemTime?: () => Date;
}

/**
 * A clock that never goes backwards across restarts.
 *
 * @example
 * ```ts
 * const clock = new TrustedClock({ store: new FileClockFloorStore('/var/lib/ecu/time-floor') });
 * const referenceTime = await clock.now(); // throws ERR_TUF_UPTANE_CLOCK_BEHIND_FLOOR if set back
 * ```
 */
export class TrustedClock {
  readonly #store: ClockFloorStore;
  readonly #systemTime: () => Date;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TrustedClockOptions) {
    this.#store = options.store;
    this.#systemTime = options.systemTime ?? (() => new Date());
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * The trusted time: the system time, once checked against the floor, which is then raised to
   * it.
   *
   * @throws UptaneError `clock-behind-floor` when the system time is before the floor.
   */
  now(): Promise<Date> {
    return this.#serialize(async () => {
      const time = this.#systemTime();
      if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
        throw new InvalidStateError('the system clock gave no valid time');
      }
      const floor = await this.#store.read();
      if (floor !== undefined && time.getTime() < floor.getTime()) {
        throw new UptaneError(
          UptaneAttack.clockBehind,
          `the system clock (${time.toISOString()}) is behind the trusted time floor (${floor.toISOString()}); refusing to check expiry against it`,
        );
      }
      if (floor === undefined || time.getTime() > floor.getTime()) await this.#store.write(time);
      return time;
    });
  }

  /** Raise the floor to `time` (a securely attested time); never lowers it. */
  advanceTo(time: Date): Promise<void> {
    return this.#serialize(async () => {
      const floor = await this.#store.read();
      if (floor === undefined || time.getTime() > floor.getTime()) await this.#store.write(time);
    });
  }

  /** The persisted floor. */
  floor(): Promise<Date | undefined> {
    return this.#store.read();
  }
}
