import { periodBounds } from './usage-events.repository';

describe('periodBounds', () => {
  it.each([
    ['2026-03', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2028-02', '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
  ])('gives the UTC calendar month of %s', (period, start, end) => {
    expect(periodBounds(period)).toEqual([start, end]);
  });
});
