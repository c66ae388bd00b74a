import {
  currentPeriod,
  monthStart,
  periodBounds,
  PERIOD_PATTERN,
  periodOf,
  secondsToNextPeriod,
  shiftPeriod,
} from './period';

const at = (iso: string) => new Date(iso);

describe('billing periods', () => {
  it('names periods YYYY-MM in UTC and accepts only real months', () => {
    expect(currentPeriod(at('2026-12-31T23:59:59Z'))).toBe('2026-12');
    expect(currentPeriod(at('2027-01-01T00:00:00Z'))).toBe('2027-01');
    for (const good of ['2026-01', '2026-12', '1970-01', '9999-12'])
      expect(PERIOD_PATTERN.test(good)).toBe(true);
    for (const bad of [
      '2026-00',
      '2026-13',
      '2026-5',
      '26-05',
      '1969-12',
      '2026-05-01',
      ' 2026-05',
    ])
      expect(PERIOD_PATTERN.test(bad)).toBe(false);
  });

  it.each([
    ['2026-03', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2028-02', '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
  ])('gives the UTC calendar month of %s', (period, from, to) => {
    const bounds = periodBounds(period);
    expect([bounds.from.toISOString(), bounds.to.toISOString()]).toEqual([from, to]);
  });

  it('moves between months across year ends', () => {
    expect(shiftPeriod('2026-12', 1)).toBe('2027-01');
    expect(shiftPeriod('2027-01', -1)).toBe('2026-12');
    expect(periodOf(at('2026-11-30T23:59:59.999Z'))).toBe('2026-11');
    expect(monthStart(at('2026-11-15T10:00:00Z'), 2).toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });

  it('counts whole seconds to the next period, never 0', () => {
    expect(secondsToNextPeriod(Date.parse('2026-11-30T23:59:59Z'))).toBe(1);
    expect(secondsToNextPeriod(Date.parse('2026-11-30T23:59:59.999Z'))).toBe(1);
    expect(secondsToNextPeriod(Date.parse('2026-11-30T23:00:00Z'))).toBe(3600);
  });
});
