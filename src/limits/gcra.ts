/**
 * GCRA (generic cell rate algorithm), the limiter's maths. A bucket stores one number, its
 * theoretical arrival time (TAT); `limit` units per `periodMs` are emitted one every
 * `periodMs / limit`, and a full period of burst is tolerated, so an idle key may spend its whole
 * limit at once. `limiter.lua.ts` is the same algorithm for Redis: keep them in step
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

/** One bucket of a decision: its stored TAT (null when empty) and its limit. */
export interface BucketState {
  tat: number | null;
  limit: number;
  periodMs: number;
}

/** A bucket's figures for the RateLimit headers: the one that binds is reported. */
export interface BucketFigures {
  /** Index of the bucket these figures are of. */
  bucket: number;
  remaining: number;
  resetMs: number;
}

export type BucketsDecision =
  | ({ allowed: false; retryAfterMs: number } & BucketFigures)
  | ({
      allowed: true;
      /** The new TAT of every bucket, to store if the whole decision passes. */
      tats: number[];
      /** The binding bucket before this request took anything (for a refusal made later). */
      before: BucketFigures;
    } & BucketFigures);

/**
 * `units` from every bucket at once (an org's plan bucket and, if it has one, the key's own):
 * allowed only when each bucket allows it. A refusal names the bucket that makes the client wait
 * longest; an allowance names the bucket with the fewest units left. Nothing is stored here: the
 * caller stores `tats` once everything else (quotas) has passed too. `limiter.lua.ts` runs the
 * same steps on Redis; `limiter.cases.ts` holds the cases both are tested against.
 */
export function decideBuckets(
  buckets: BucketState[],
  nowMs: number,
  units: number,
): BucketsDecision {
  let refusal: ({ allowed: false; retryAfterMs: number } & BucketFigures) | undefined;
  let after: BucketFigures | undefined;
  let before: BucketFigures | undefined;
  const tats: number[] = [];
  buckets.forEach((b, i) => {
    const decision = gcra(b.tat, nowMs, b.limit, b.periodMs, units);
    if (!decision.allowed) {
      if (!refusal || decision.retryAfterMs > refusal.retryAfterMs) {
        refusal = {
          allowed: false,
          bucket: i,
          ...pick(decision),
          retryAfterMs: decision.retryAfterMs,
        };
      }
      return;
    }
    tats.push(decision.tat);
    if (!after || decision.remaining < after.remaining) after = { bucket: i, ...pick(decision) };
    const idle = gcra(b.tat, nowMs, b.limit, b.periodMs, 0);
    if (!before || idle.remaining < before.remaining) before = { bucket: i, ...pick(idle) };
  });
  if (refusal) return refusal;
  return { allowed: true, ...after!, tats, before: before! };
}

const pick = (d: GcraDecision) => ({ remaining: d.remaining, resetMs: d.resetMs });
