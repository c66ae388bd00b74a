/**
 * GCRA (generic cell rate algorithm), the limiter's maths. A bucket stores one number, its
 * theoretical arrival time (TAT); `limit` units per `periodMs` are emitted one every
 * `periodMs / limit`, and a full period of burst is tolerated, so an idle key may spend its whole
 * limit at once. `src/rate-limit/limiter.lua.ts` is the same algorithm for Redis: keep them in step
 * (`gcra.cases.ts` is the shared table of cases both are tested against).
 */
export interface GcraDecision {
  allowed: boolean;
  /** Units left after this decision. */
  remaining: number;
  /** Milliseconds until one unit comes back (0 when the bucket is full). */
  resetMs: number;
  /** Milliseconds until a request of this cost could pass (0 when allowed). */
  retryAfterMs: number;
  /** The bucket's new TAT (unchanged when refused); store it until it passes. */
  tat: number;
}

/** Float slack (ms) so that exactly `limit` units fit in a period despite rounding. */
export const GCRA_EPSILON_MS = 0.01;

export function gcra(
  storedTat: number | null,
  nowMs: number,
  limit: number,
  periodMs: number,
  cost = 1,
): GcraDecision {
  const interval = periodMs / limit;
  const tat = storedTat === null || storedTat < nowMs ? nowMs : storedTat;
  const newTat = tat + interval * cost;
  const allowAt = newTat - periodMs;
  if (allowAt - nowMs > GCRA_EPSILON_MS) {
    const used = tat - nowMs;
    const remaining = Math.max(0, Math.floor((periodMs - used) / interval + 1e-9));
    const retryAfterMs = Math.ceil(allowAt - nowMs);
    return { allowed: false, remaining, resetMs: retryAfterMs, retryAfterMs, tat };
  }
  const used = newTat - nowMs;
  const remaining = Math.max(0, Math.floor((periodMs - used) / interval + 1e-9));
  const resetMs =
    remaining >= limit ? 0 : Math.max(0, Math.ceil((remaining + 1) * interval - (periodMs - used)));
  return { allowed: true, remaining, resetMs, retryAfterMs: 0, tat: newTat };
}
