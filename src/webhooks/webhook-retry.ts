/**
 * Retry schedule for failed webhook deliveries (contract §10): the first retry waits
 * `baseSeconds` (WEBHOOK_RETRY_BASE_SECONDS, default 5), each later wait is 4 times the one before,
 * capped at one hour; once 24 hours have passed since the first attempt, the message is failed.
 *
 * With the default base: 5 s, 20 s, 80 s, 320 s, 1280 s, then hourly, about 30 attempts in all.
 */
export const DEFAULT_RETRY_BASE_SECONDS = 5;
export const RETRY_FACTOR = 4;
export const MAX_RETRY_DELAY_SECONDS = 60 * 60;
export const RETRY_WINDOW_SECONDS = 24 * 60 * 60;

/**
 * Seconds to wait before retry number `attempt` (1 = the first retry, i.e. after one failed
 * attempt): `baseSeconds × 4^(attempt − 1)`, capped at one hour.
 */
export function retryDelaySeconds(attempt: number, baseSeconds: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  }
  assertBase(baseSeconds);
  // Multiply step by step rather than computing 4 ** (attempt - 1): no overflow to Infinity and
  // the loop stops as soon as the cap is reached (at most 7 steps for a 5 s base).
  let delay = baseSeconds;
  for (let i = 1; i < attempt && delay < MAX_RETRY_DELAY_SECONDS; i++) delay *= RETRY_FACTOR;
  return Math.min(delay, MAX_RETRY_DELAY_SECONDS);
}

/**
 * When to try again after `attemptsMade` failed attempts, the last one ending at `now`; `null`
 * means give up and mark the message failed.
 *
 * The wait counts from `now` (when the attempt ended), not from when it was scheduled: a worker
 * that was down or late does not fire a burst of catch-up attempts at the receiver. Giving up only
 * once 24 hours have passed since `firstAttemptAt` means the last attempt is at least 24 hours
 * after the first, whatever the delays in between.
 */
export function nextAttemptAt(
  firstAttemptAt: Date,
  attemptsMade: number,
  now: Date,
  baseSeconds: number = DEFAULT_RETRY_BASE_SECONDS,
): Date | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer >= 1, got ${attemptsMade}`);
  }
  const first = firstAttemptAt.getTime();
  const current = now.getTime();
  if (Number.isNaN(first) || Number.isNaN(current)) throw new RangeError('invalid date');
  if (current - first >= RETRY_WINDOW_SECONDS * 1000) return null;
  return new Date(current + retryDelaySeconds(attemptsMade, baseSeconds) * 1000);
}

function assertBase(baseSeconds: number): void {
  if (!Number.isFinite(baseSeconds) || baseSeconds <= 0) {
    throw new RangeError(`baseSeconds must be a positive number, got ${baseSeconds}`);
  }
}
