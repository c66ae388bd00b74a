import {
  addYear,
  clippedWindow,
  exportFilename,
  hourRange,
  nextWindow,
  percentUsed,
  rangeProblems,
  UsageWindow,
  windowStart,
} from './usage-bounds';

const at = (iso: string) => new Date(iso);

describe('usage bounds', () => {
  describe('rangeProblems', () => {
    it.each([
      ['2026-05-01T00:00:00Z', '2026-05-01T00:00:00.001Z', []],
      ['2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', []],
      ['2024-02-29T00:00:00Z', '2025-03-01T00:00:00Z', []],
      [
        '2026-01-01T00:00:00Z',
        '2027-01-01T00:00:00.001Z',
        ['from and to must be at most 1 year apart'],
      ],
      ['2026-05-01T00:00:00Z', '2026-05-01T00:00:00Z', ['to must be after from']],
      ['2026-05-02T00:00:00Z', '2026-05-01T00:00:00Z', ['to must be after from']],
    ])('from %s to %s: %j', (from, to, problems) => {
      expect(rangeProblems(at(from), at(to)).map((p) => p.message)).toEqual(problems);
    });

    it('adds a calendar year in UTC, 29 February rolling to 1 March', () => {
      expect(addYear(at('2024-02-29T12:00:00Z')).toISOString()).toBe('2025-03-01T12:00:00.000Z');
      expect(addYear(at('2025-12-31T23:59:59Z')).toISOString()).toBe('2026-12-31T23:59:59.000Z');
    });
  });

  it('widens a range to whole hours: from down, to up, whole hours untouched', () => {
    const range = hourRange(at('2026-05-01T10:30:00Z'), at('2026-05-01T12:00:00.001Z'));
    expect(range.from.toISOString()).toBe('2026-05-01T10:00:00.000Z');
    expect(range.to.toISOString()).toBe('2026-05-01T13:00:00.000Z');
    const exact = hourRange(at('2026-05-01T10:00:00Z'), at('2026-05-01T12:00:00Z'));
    expect([exact.from.toISOString(), exact.to.toISOString()]).toEqual([
      '2026-05-01T10:00:00.000Z',
      '2026-05-01T12:00:00.000Z',
    ]);
  });

  describe('UTC calendar windows', () => {
    it.each<[UsageWindow, string, string, string]>([
      ['hour', '2026-05-01T10:59:59.999Z', '2026-05-01T10:00:00.000Z', '2026-05-01T11:00:00.000Z'],
      ['day', '2026-05-31T23:00:00Z', '2026-05-31T00:00:00.000Z', '2026-06-01T00:00:00.000Z'],
      ['day', '2024-02-28T05:00:00Z', '2024-02-28T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
      ['month', '2026-12-15T08:00:00Z', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
      ['month', '2024-02-29T23:00:00Z', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ])('a %s holding %s runs from %s to %s', (window, time, start, end) => {
      const s = windowStart(at(time), window);
      expect(s.toISOString()).toBe(start);
      expect(nextWindow(s, window).toISOString()).toBe(end);
    });

    it('clips the first and last windows to the range, and leaves inner ones whole', () => {
      const range = { from: at('2026-05-10T06:00:00Z'), to: at('2026-07-03T00:00:00Z') };
      const clip = (start: string) => {
        const w = clippedWindow(at(start), 'month', range);
        return [w.windowStart.toISOString(), w.windowEnd.toISOString()];
      };
      expect(clip('2026-05-01T00:00:00Z')).toEqual([
        '2026-05-10T06:00:00.000Z',
        '2026-06-01T00:00:00.000Z',
      ]);
      expect(clip('2026-06-01T00:00:00Z')).toEqual([
        '2026-06-01T00:00:00.000Z',
        '2026-07-01T00:00:00.000Z',
      ]);
      expect(clip('2026-07-01T00:00:00Z')).toEqual([
        '2026-07-01T00:00:00.000Z',
        '2026-07-03T00:00:00.000Z',
      ]);
    });
  });

  it.each([
    [0, 1000, 0],
    [250, 1000, 25],
    [1, 3, 33.33],
    [2, 3, 66.67],
    [1000, 1000, 100],
    [1500, 1000, 150],
    [0.5, 0.75, 66.67],
    [5, 0, null],
    [0, 0, null],
  ])('percentUsed(%s of %s) = %s', (value, included, expected) => {
    expect(percentUsed(value, included)).toBe(expected);
  });

  it('names the export file with colon-free ISO-8601 instants', () => {
    expect(exportFilename('0b7e', at('2026-05-01T00:00:00Z'), at('2026-05-31T12:30:45.500Z'))).toBe(
      'usage-0b7e-20260501T000000Z-20260531T123045Z.csv',
    );
  });
});
