import { InMemoryFixedWindows, retryAfterSeconds } from './fixed-window';

describe('retryAfterSeconds', () => {
  it.each([
    [0, 1],
    [-5, 1],
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [899_500, 900],
    [900_000, 900],
  ])('%d ms left → Retry-After %d', (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds);
  });
});

describe('InMemoryFixedWindows', () => {
  const WINDOW = 15 * 60_000;
  let now: number;
  let windows: InMemoryFixedWindows;

  beforeEach(() => {
    now = 1_700_000_000_000;
    windows = new InMemoryFixedWindows(WINDOW, 100, () => now);
  });

  it('lets `limit` through in a window, then refuses until the window ends', () => {
    expect(windows.take('a', 3)).toEqual({ allowed: true, msLeft: WINDOW });
    now += 1_000;
    expect(windows.take('a', 3)).toEqual({ allowed: true, msLeft: WINDOW - 1_000 });
    expect(windows.take('a', 3)).toEqual({ allowed: true, msLeft: WINDOW - 1_000 });
    now += 60_000;
    expect(windows.take('a', 3)).toEqual({ allowed: false, msLeft: WINDOW - 61_000 });
    // Refusals do not push the window further.
    expect(windows.take('a', 3)).toEqual({ allowed: false, msLeft: WINDOW - 61_000 });
    now += WINDOW - 61_000 - 1;
    expect(windows.take('a', 3)).toEqual({ allowed: false, msLeft: 1 });
    now += 1;
    expect(windows.take('a', 3)).toEqual({ allowed: true, msLeft: WINDOW });
  });

  it('keeps keys apart', () => {
    expect(windows.take('a', 1).allowed).toBe(true);
    expect(windows.take('a', 1).allowed).toBe(false);
    expect(windows.take('b', 1).allowed).toBe(true);
  });

  it('starts over after a reset', () => {
    windows.take('a', 2);
    windows.take('a', 2);
    expect(windows.take('a', 2).allowed).toBe(false);
    windows.reset('a');
    expect(windows.take('a', 2)).toEqual({ allowed: true, msLeft: WINDOW });
  });

  it('holds at most `maxKeys` keys, dropping the least recently used', () => {
    const small = new InMemoryFixedWindows(WINDOW, 2, () => now);
    small.take('a', 1);
    small.take('b', 1);
    small.take('c', 1);
    expect(small.take('a', 1).allowed).toBe(true);
    expect(small.take('c', 1).allowed).toBe(false);
  });
});
