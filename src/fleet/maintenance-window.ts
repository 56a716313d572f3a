/**
 * Maintenance windows: the times of the week in which a group's devices may start an update
 * (issue 15). A window is a set of weekdays and a start and end time of day at a fixed UTC offset
 * (`{days: ['sat','sun'], start: '01:00', end: '05:00', utcOffsetMinutes: 60}`); an end before
 * the start crosses midnight (`22:00`–`04:00` belongs to the day it starts on). A group with no
 * window may update at any time.
 *
 * Pure: the time is passed in.
 *
 * @module
 */
import { FormatError } from '../errors.js';

/** Days of the week, as a window lists them. */
export type Weekday = 'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat';

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** One weekly window. */
export interface MaintenanceWindow {
  days: Weekday[];
  /** `HH:MM`, 24-hour. */
  start: string;
  /** `HH:MM`; before `start` means the window ends the next day. */
  end: string;
  /** The offset from UTC of the times (e.g. 60 for CET), −840 to 840. */
  utcOffsetMinutes: number;
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutesOf(time: string, field: string): number {
  const match = TIME.exec(time);
  if (match === null) throw new FormatError(`maintenance window: ${field} "${time}" is not HH:MM`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * Check a window's fields.
 *
 * @throws FormatError naming the field.
 */
export function validateMaintenanceWindow(window: MaintenanceWindow): void {
  if (!Array.isArray(window.days) || window.days.length === 0) {
    throw new FormatError('maintenance window: days must list at least one of sun … sat');
  }
  for (const day of window.days) {
    if (!WEEKDAYS.includes(day)) {
      throw new FormatError(`maintenance window: "${day}" is not one of ${WEEKDAYS.join(', ')}`);
    }
  }
  minutesOf(window.start, 'start');
  minutesOf(window.end, 'end');
  if (window.start === window.end) {
    throw new FormatError('maintenance window: start and end are equal (an empty window)');
  }
  if (!Number.isInteger(window.utcOffsetMinutes) || Math.abs(window.utcOffsetMinutes) > 14 * 60) {
    throw new FormatError('maintenance window: utcOffsetMinutes must be an integer in −840…840');
  }
}

function inWindow(window: MaintenanceWindow, now: Date): boolean {
  const local = new Date(now.getTime() + window.utcOffsetMinutes * 60_000);
  const day = local.getUTCDay();
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const start = minutesOf(window.start, 'start');
  const end = minutesOf(window.end, 'end');
  if (start < end) {
    return window.days.includes(WEEKDAYS[day] as Weekday) && minute >= start && minute < end;
  }
  // Crosses midnight: the evening part belongs to today, the morning part to yesterday.
  if (minute >= start) return window.days.includes(WEEKDAYS[day] as Weekday);
  if (minute < end) return window.days.includes(WEEKDAYS[(day + 6) % 7] as Weekday);
  return false;
}

/** May an update start at `now`? True when no window is set or any window contains `now`. */
export function inMaintenanceWindow(
  windows: readonly MaintenanceWindow[] | undefined,
  now: Date,
): boolean {
  if (windows === undefined || windows.length === 0) return true;
  return windows.some((w) => inWindow(w, now));
}
