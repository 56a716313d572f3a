import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import {
  inMaintenanceWindow,
  type MaintenanceWindow,
  validateMaintenanceWindow,
} from '../../src/fleet/maintenance-window.js';

// 2026-12-05 is a Saturday.
const sat = (time: string) => new Date(`2026-12-05T${time}:00Z`);
const sun = (time: string) => new Date(`2026-12-06T${time}:00Z`);

describe('inMaintenanceWindow', () => {
  const night: MaintenanceWindow = {
    days: ['sat'],
    start: '22:00',
    end: '04:00',
    utcOffsetMinutes: 0,
  };

  it('allows any time without windows', () => {
    expect(inMaintenanceWindow(undefined, sat('12:00'))).toBe(true);
    expect(inMaintenanceWindow([], sat('12:00'))).toBe(true);
  });

  it('contains the start, not the end', () => {
    const w: MaintenanceWindow = {
      days: ['sat'],
      start: '12:00',
      end: '13:00',
      utcOffsetMinutes: 0,
    };
    expect(inMaintenanceWindow([w], sat('11:59'))).toBe(false);
    expect(inMaintenanceWindow([w], sat('12:00'))).toBe(true);
    expect(inMaintenanceWindow([w], sat('12:59'))).toBe(true);
    expect(inMaintenanceWindow([w], sat('13:00'))).toBe(false);
    expect(inMaintenanceWindow([w], sun('12:30'))).toBe(false);
  });

  it('a window crossing midnight belongs to the day it starts on', () => {
    expect(inMaintenanceWindow([night], sat('23:00'))).toBe(true);
    expect(inMaintenanceWindow([night], sun('03:59'))).toBe(true);
    expect(inMaintenanceWindow([night], sun('04:00'))).toBe(false);
    expect(inMaintenanceWindow([night], sat('03:00'))).toBe(false); // Friday night's part
    expect(inMaintenanceWindow([night], sun('23:00'))).toBe(false);
  });

  it('applies the UTC offset', () => {
    const oslo: MaintenanceWindow = {
      days: ['sat'],
      start: '12:00',
      end: '13:00',
      utcOffsetMinutes: 60,
    };
    expect(inMaintenanceWindow([oslo], sat('11:30'))).toBe(true); // 12:30 in Oslo
    expect(inMaintenanceWindow([oslo], sat('12:30'))).toBe(false);
  });
});

describe('validateMaintenanceWindow', () => {
  it.each([
    [{ days: [] }, 'at least one'],
    [{ days: ['someday'] }, 'not one of'],
    [{ start: '7:00' }, 'start "7:00"'],
    [{ end: '24:00' }, 'end "24:00"'],
    [{ start: '01:00', end: '01:00' }, 'empty window'],
    [{ utcOffsetMinutes: 900 }, 'utcOffsetMinutes'],
  ])('refuses %j', (over, why) => {
    const w = {
      days: ['sat'],
      start: '01:00',
      end: '02:00',
      utcOffsetMinutes: 0,
      ...over,
    } as MaintenanceWindow;
    expect(() => validateMaintenanceWindow(w)).toThrow(FormatError);
    expect(() => validateMaintenanceWindow(w)).toThrow(why);
  });
});
