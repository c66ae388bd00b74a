/**
 * One table of limiter cases, run against the in-process maths (`gcra.spec.ts`) and against the
 * Lua script on a real Redis (`test/rate-limit.e2e-spec.ts`): the two must decide alike.
 */
export interface GcraStep {
  at: number;
  cost?: number;
  expect: { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number };
}

export interface GcraCase {
  name: string;
  limit: number;
  periodMs: number;
  steps: GcraStep[];
}

const ok = (remaining: number, resetMs: number) => ({
  allowed: true,
  remaining,
  resetMs,
  retryAfterMs: 0,
});
const no = (remaining: number, retryAfterMs: number) => ({
  allowed: false,
  remaining,
  resetMs: retryAfterMs,
  retryAfterMs,
});

export const GCRA_CASES: GcraCase[] = [
  {
    name: 'a burst of exactly `limit`, then a refusal until one interval passes',
    limit: 3,
    periodMs: 1000,
    steps: [
      { at: 0, expect: ok(2, 334) },
      { at: 0, expect: ok(1, 334) },
      { at: 0, expect: ok(0, 334) },
      { at: 0, expect: no(0, 334) },
      { at: 200, expect: no(0, 134) },
      { at: 334, expect: ok(0, 333) },
    ],
  },
  {
    name: 'units come back one interval at a time',
    limit: 2,
    periodMs: 1000,
    steps: [
      { at: 0, expect: ok(1, 500) },
      { at: 0, expect: ok(0, 500) },
      { at: 500, expect: ok(0, 500) },
      { at: 1000, expect: ok(0, 500) },
      { at: 3000, expect: ok(1, 500) },
    ],
  },
  {
    name: 'a cost above 1 takes several units at once, and more than is left is refused whole',
    limit: 5,
    periodMs: 5000,
    steps: [
      { at: 0, cost: 3, expect: ok(2, 1000) },
      { at: 0, cost: 3, expect: no(2, 1000) },
      { at: 0, cost: 2, expect: ok(0, 1000) },
    ],
  },
  {
    name: 'a cost above the limit can never pass',
    limit: 2,
    periodMs: 1000,
    steps: [
      { at: 0, cost: 3, expect: no(2, 500) },
      { at: 10_000, cost: 3, expect: no(2, 500) },
    ],
  },
  {
    name: 'a limit of 1 per second',
    limit: 1,
    periodMs: 1000,
    steps: [
      { at: 0, expect: ok(0, 1000) },
      { at: 999, expect: no(0, 1) },
      { at: 1000, expect: ok(0, 1000) },
    ],
  },
  {
    name: 'seven per minute: exactly seven pass in a burst',
    limit: 7,
    periodMs: 60_000,
    steps: [
      ...Array.from({ length: 7 }, (_, i) => ({ at: 0, expect: ok(6 - i, 8572) })),
      { at: 0, expect: no(0, 8572) },
    ],
  },
];
