import { monthPartition, partitionsAround } from './usage-partitions';

describe('usage_events partitions', () => {
  it.each([
    [
      '2026-11-29T04:00:00Z',
      'usage_events_y2026m11',
      '2026-11-01T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
    ],
    [
      '2026-12-31T23:59:59.999Z',
      'usage_events_y2026m12',
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ],
    [
      '2027-01-01T00:00:00Z',
      'usage_events_y2027m01',
      '2027-01-01T00:00:00.000Z',
      '2027-02-01T00:00:00.000Z',
    ],
  ])('names the month of %s %s, from %s to %s', (at, name, from, to) => {
    expect(monthPartition(new Date(at))).toEqual({ name, from, to });
  });

  it('covers two months back (35-day-old events) to two months ahead, across a year end', () => {
    expect(partitionsAround(new Date('2027-01-15T00:00:00Z')).map((p) => p.name)).toEqual([
      'usage_events_y2026m11',
      'usage_events_y2026m12',
      'usage_events_y2027m01',
      'usage_events_y2027m02',
      'usage_events_y2027m03',
    ]);
  });
});
