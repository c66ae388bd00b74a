/**
 * Runs `assertion` until it passes, and returns what it returned. Attempts start until `timeoutMs`
 * (counted from the call) has passed, `intervalMs` apart; then the last failure is thrown. This
 * states a bound ("refused within 1 s") where a fixed sleep only guessed one.
 */
export async function eventually<T>(
  assertion: () => T | Promise<T>,
  { timeoutMs, intervalMs = 50 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      const left = deadline - Date.now();
      if (left <= 0) {
        if (error instanceof Error) error.message += `\n(still failing after ${timeoutMs} ms)`;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
    }
  }
}

/**
 * Jest fake timers for `Date` alone, ticking on from `now`: the app's clock (key expiry and grace
 * periods are checked against `Date.now()`) jumps there without waiting, while real timers, I/O
 * and promises keep the app, supertest and the drivers running. Postgres' `now()` does not move:
 * only for decisions made in TypeScript. Undo with `jest.useRealTimers()` (in an `afterEach`).
 */
export function fakeDate(now: number = Date.now()): void {
  jest.useFakeTimers({
    now,
    advanceTimers: true,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}
