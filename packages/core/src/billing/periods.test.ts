import { describe, expect, it } from 'vitest';
import { periodEnd, periodStart } from './periods';

const at = (iso: string) => new Date(iso);

describe('budget periods (UTC calendar)', () => {
  it.each([
    ['day', '2026-11-24T23:59:59Z', '2026-11-24T00:00:00Z', '2026-11-25T00:00:00Z'],
    ['week', '2026-11-24T10:00:00Z', '2026-11-23T00:00:00Z', '2026-11-30T00:00:00Z'], // a Tuesday → Monday
    ['week', '2026-11-29T23:00:00Z', '2026-11-23T00:00:00Z', '2026-11-30T00:00:00Z'], // Sunday still in it
    ['week', '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z', '2026-12-07T00:00:00Z'],
    ['month', '2026-12-31T23:00:00Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'],
  ] as const)('%s containing %s starts %s and ends %s', (period, now, start, end) => {
    expect(periodStart(period, at(now), at(now)).toISOString()).toBe(at(start).toISOString());
    expect(periodEnd(period, at(now))?.toISOString()).toBe(at(end).toISOString());
  });

  it('has no calendar for none', () => {
    const since = at('2026-01-01T12:00:00Z');
    expect(periodStart('none', at('2026-11-24T00:00:00Z'), since)).toBe(since);
    expect(periodEnd('none', at('2026-11-24T00:00:00Z'))).toBeNull();
  });
});
