import { parseInstant } from './instant';

describe('parseInstant', () => {
  it.each([
    ['2026-05-01T00:00:00Z', '2026-05-01T00:00:00.000Z'],
    ['2026-05-01T10:30Z', '2026-05-01T10:30:00.000Z'],
    ['2026-05-01T10:30:15.123456Z', '2026-05-01T10:30:15.123Z'],
    ['2026-05-01T12:00:00+02:00', '2026-05-01T10:00:00.000Z'],
    ['2026-05-01T05:00:00+0530', '2026-04-30T23:30:00.000Z'],
    ['2026-05-01T00:00:00-01:00', '2026-05-01T01:00:00.000Z'],
    ['2026-05-01', '2026-05-01T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseInstant(text, { allowDate: true })?.toISOString()).toBe(iso);
  });

  it.each([
    ['a date-time without a zone', '2026-05-01T00:00:00'],
    ['February 30', '2026-02-30'],
    ['February 29 of a common year', '2025-02-29'],
    ['month 13', '2026-13-01'],
    ['hour 24', '2026-05-01T24:00:00Z'],
    ['minute 60', '2026-05-01T10:60:00Z'],
    ['a year before 1970', '1969-12-31T00:00:00Z'],
    ['year 9999', '9999-01-01T00:00:00Z'],
    ['an offset of 24 hours', '2026-05-01T00:00:00+24:00'],
    ['a Unix time', '1777593600'],
    ['words', 'yesterday'],
    ['an empty string', ''],
    ['a trailing space', '2026-05-01 '],
  ])('refuses %s (%s)', (_, text) => {
    expect(parseInstant(text, { allowDate: true })).toBeNull();
  });
});

describe('parseInstant without dates', () => {
  it('refuses a plain date where a date-time is wanted (event times)', () => {
    expect(parseInstant('2026-05-01')).toBeNull();
    expect(parseInstant('2026-05-01T00:00:00Z')?.toISOString()).toBe('2026-05-01T00:00:00.000Z');
  });

  it('refuses what is not a string', () => {
    expect(parseInstant(1777593600)).toBeNull();
    expect(parseInstant(undefined)).toBeNull();
  });
});
