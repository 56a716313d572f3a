import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  applyReferenceTimePolicy,
  decideReferenceTime,
  MAX_EXPIRY_GRACE,
  MIN_PLAUSIBLE_TIME,
  REFERENCE_TIME_CHANNEL,
  type ReferenceTimePolicy,
  resolveReferenceTimePolicy,
} from '../../src/client/reference-time-policy.js';

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00Z');
const at = (ms: number) => new Date(ms);

describe('decideReferenceTime', () => {
  const table: Array<{
    what: string;
    policy: ReferenceTimePolicy | undefined;
    clock: Date;
    lastKnownTime?: Date;
    reference: Date;
    clockRaised: boolean;
    adjusted: boolean;
  }> = [
    {
      what: 'strict default, good clock',
      policy: undefined,
      clock: NOW,
      reference: NOW,
      clockRaised: false,
      adjusted: false,
    },
    {
      what: 'strict, clock reads 1970',
      policy: undefined,
      clock: at(0),
      reference: MIN_PLAUSIBLE_TIME,
      clockRaised: true,
      adjusted: true,
    },
    {
      what: 'strict, clock behind the last known time',
      policy: { name: 'strict' },
      clock: at(NOW.getTime() - 5 * DAY),
      lastKnownTime: NOW,
      reference: NOW,
      clockRaised: true,
      adjusted: true,
    },
    {
      what: 'strict, notBefore (build time) above the clock',
      policy: { name: 'strict', notBefore: NOW },
      clock: at(0),
      reference: NOW,
      clockRaised: true,
      adjusted: true,
    },
    {
      what: 'grace, good clock',
      policy: { name: 'no-rtc-grace', maxExpiredBy: 7 * DAY },
      clock: NOW,
      reference: at(NOW.getTime() - 7 * DAY),
      clockRaised: false,
      adjusted: true,
    },
    {
      what: 'grace, clock reads 1970 with a last known time: grace from the floor, not from 1970',
      policy: { name: 'no-rtc-grace', maxExpiredBy: 7 * DAY },
      clock: at(0),
      lastKnownTime: NOW,
      reference: at(NOW.getTime() - 7 * DAY),
      clockRaised: true,
      adjusted: true,
    },
    {
      what: 'a clock ahead of every floor is believed',
      policy: { name: 'strict', notBefore: at(NOW.getTime() - DAY) },
      clock: NOW,
      lastKnownTime: at(NOW.getTime() - 2 * DAY),
      reference: NOW,
      clockRaised: false,
      adjusted: false,
    },
  ];
  for (const row of table) {
    it(row.what, () => {
      const decision = decideReferenceTime(row.policy, {
        clock: row.clock,
        ...(row.lastKnownTime === undefined ? {} : { lastKnownTime: row.lastKnownTime }),
      });
      expect(decision.referenceTime).toEqual(row.reference);
      expect(decision.clockRaised).toBe(row.clockRaised);
      expect(decision.adjusted).toBe(row.adjusted);
      expect(decision.effectiveClock.getTime()).toBe(
        decision.referenceTime.getTime() + decision.graceMs,
      );
      expect(decision.summary).toContain(`expiry checked against ${row.reference.toISOString()}`);
    });
  }
});

describe('resolveReferenceTimePolicy', () => {
  it('defaults to strict', () => {
    expect(resolveReferenceTimePolicy(undefined)).toEqual({ name: 'strict' });
  });

  const bad: Array<[string, unknown]> = [
    ['an unknown name', { name: 'lenient' }],
    ['a zero grace', { name: 'no-rtc-grace', maxExpiredBy: 0 }],
    ['a grace over a year', { name: 'no-rtc-grace', maxExpiredBy: MAX_EXPIRY_GRACE + 1 }],
    ['a fractional grace', { name: 'no-rtc-grace', maxExpiredBy: 1.5 }],
    ['a missing grace', { name: 'no-rtc-grace' }],
    ['an invalid notBefore', { name: 'strict', notBefore: new Date(Number.NaN) }],
  ];
  for (const [what, policy] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => resolveReferenceTimePolicy(policy as ReferenceTimePolicy)).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
      );
    });
  }
});

describe('applyReferenceTimePolicy', () => {
  it('sets the reference time on the updater and reports only adjusted decisions', () => {
    const set: Date[] = [];
    const updater = { unsafeSetReferenceTime: (time: Date) => set.push(time) };
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe(REFERENCE_TIME_CHANNEL, listener);
    try {
      const plain = applyReferenceTimePolicy(updater, undefined, { clock: NOW });
      const graced = applyReferenceTimePolicy(
        updater,
        { name: 'no-rtc-grace', maxExpiredBy: DAY },
        { clock: NOW },
      );
      expect(set).toEqual([NOW, at(NOW.getTime() - DAY)]);
      expect(plain.adjusted).toBe(false);
      expect(seen).toEqual([graced]);
      expect(graced.summary).toMatch(/no-rtc-grace: metadata expired up to 1d ago is ACCEPTED/);
    } finally {
      unsubscribe(REFERENCE_TIME_CHANNEL, listener);
    }
  });
});
