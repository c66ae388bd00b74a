import {
  MAX_RETRY_DELAY_SECONDS,
  nextAttemptAt,
  RETRY_WINDOW_SECONDS,
  retryDelaySeconds,
} from './webhook-retry';

const HOUR = 3600;
const T0 = new Date('2025-03-01T00:00:00.000Z');

/** Every attempt fails instantly: the times (seconds after T0) at which attempts are made. */
function simulate(baseSeconds: number): number[] {
  const attempts = [0];
  for (;;) {
    const now = new Date(T0.getTime() + attempts[attempts.length - 1] * 1000);
    const next = nextAttemptAt(T0, attempts.length, now, baseSeconds);
    if (next === null) return attempts;
    attempts.push((next.getTime() - T0.getTime()) / 1000);
    if (attempts.length > 1000) throw new Error('the schedule never gives up');
  }
}

describe('webhook retry schedule', () => {
  it.each([
    [5, [5, 20, 80, 320, 1280, 3600, 3600, 3600, 3600]],
    [1, [1, 4, 16, 64, 256, 1024, 3600, 3600, 3600]],
    [60, [60, 240, 960, 3600, 3600]],
  ])('with base %i s the waits are %j', (base, expected) => {
    expect(expected.map((_, i) => retryDelaySeconds(i + 1, base))).toEqual(expected);
  });

  it('stays capped at one hour for any number of retries, with no overflow', () => {
    expect(retryDelaySeconds(1_000_000, 5)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(2, 3000)).toBe(MAX_RETRY_DELAY_SECONDS);
  });

  it.each([
    ['attempt 0', () => retryDelaySeconds(0, 5)],
    ['fractional attempt', () => retryDelaySeconds(1.5, 5)],
    ['zero base', () => retryDelaySeconds(1, 0)],
    ['NaN base', () => retryDelaySeconds(1, Number.NaN)],
    ['no attempt made yet', () => nextAttemptAt(T0, 0, T0, 5)],
    ['invalid date', () => nextAttemptAt(new Date('nope'), 1, T0, 5)],
  ])('refuses a nonsensical argument: %s', (_, call) => {
    expect(call).toThrow(RangeError);
  });

  it.each([5, 1, 60])(
    'with base %i s, keeps retrying for at least 24 h, then gives up within the hour after',
    (base) => {
      const attempts = simulate(base);
      const last = attempts[attempts.length - 1];
      expect(last).toBeGreaterThanOrEqual(RETRY_WINDOW_SECONDS);
      expect(last).toBeLessThan(RETRY_WINDOW_SECONDS + HOUR);
      // Attempts before the last are all inside the window: the cut-off is the 24 h mark.
      expect(attempts[attempts.length - 2]).toBeLessThan(RETRY_WINDOW_SECONDS);
    },
  );

  it('makes 30 attempts over a day with the default 5 s base', () => {
    const attempts = simulate(5);
    expect(attempts.slice(0, 7)).toEqual([0, 5, 25, 105, 425, 1705, 5305]);
    expect(attempts).toHaveLength(30);
  });

  it('counts the wait from when the attempt ended, not from when it was due', () => {
    const late = new Date(T0.getTime() + 10 * 60_000);
    expect(nextAttemptAt(T0, 1, late, 5)).toEqual(new Date(late.getTime() + 5_000));
  });

  it('gives up exactly at 24 h after the first attempt, not a millisecond before', () => {
    const window = RETRY_WINDOW_SECONDS * 1000;
    expect(nextAttemptAt(T0, 30, new Date(T0.getTime() + window - 1), 5)).toEqual(
      new Date(T0.getTime() + window - 1 + HOUR * 1000),
    );
    expect(nextAttemptAt(T0, 30, new Date(T0.getTime() + window), 5)).toBeNull();
  });
});
