import { partitionPeriod, partitionsPastRetention } from './usage-retention';

describe('usage retention', () => {
  it('reads the period of a month partition, and nothing from other tables', () => {
    expect(partitionPeriod('usage_events_y2026m03')).toBe('2026-03');
    expect(partitionPeriod('usage_events_y2026m12')).toBe('2026-12');
    expect(partitionPeriod('usage_events_default')).toBeUndefined();
    expect(partitionPeriod('usage_events_y2026m13')).toBeUndefined();
    expect(partitionPeriod('usage_events_y2026m3')).toBeUndefined();
    expect(partitionPeriod('x_usage_events_y2026m03')).toBeUndefined();
    expect(partitionPeriod('usage_events_y2026m03; DROP TABLE orgs')).toBeUndefined();
  });

  it('keeps the current period and the RETENTION_MONTHS before it, and lists older ones oldest first', () => {
    const names = [
      'usage_events_default',
      'usage_events_y2026m11',
      'usage_events_y2026m08',
      'usage_events_y2026m07',
      'usage_events_y2025m12',
      'usage_events_y2027m01',
      'usage_events_y2026m09',
    ];
    const now = new Date('2026-11-29T21:00:00Z');
    expect(partitionsPastRetention(names, now, 3)).toEqual([
      { name: 'usage_events_y2025m12', period: '2025-12' },
      { name: 'usage_events_y2026m07', period: '2026-07' },
    ]);
    expect(partitionsPastRetention(names, now, 2).map((p) => p.period)).toEqual([
      '2025-12',
      '2026-07',
      '2026-08',
    ]);
    expect(partitionsPastRetention(names, now, 120)).toEqual([]);
  });

  it('counts months in UTC at the turn of a month', () => {
    const names = ['usage_events_y2026m09', 'usage_events_y2026m10'];
    expect(partitionsPastRetention(names, new Date('2026-12-31T23:59:59.999Z'), 2)).toEqual([
      { name: 'usage_events_y2026m09', period: '2026-09' },
    ]);
    expect(partitionsPastRetention(names, new Date('2027-01-01T00:00:00Z'), 2)).toEqual([
      { name: 'usage_events_y2026m09', period: '2026-09' },
      { name: 'usage_events_y2026m10', period: '2026-10' },
    ]);
  });
});
