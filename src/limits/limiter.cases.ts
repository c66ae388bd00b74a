import { LimiterService, LimitSubject, LimitsDecision } from './limiter.service';
import { QuotaLedgerRepository } from './quota-ledger.repository';
import { RateLimit } from './rate-limit';

/**
 * One table of admission cases for LimiterService, run in process (`limiter.spec.ts`) and on a
 * real Redis through the Lua script (`test/rate-limit.e2e-spec.ts`): both must decide alike.
 * Each step is one request of a key of the org at `at` ms: `own` keys also pay their own bucket.
 */
export interface LimiterStep {
  at: number;
  /** Which of the case's keys makes the request (a key in `own` pays its own bucket too). */
  key: string;
  charges?: { meter: string; amount: number; included: number }[];
  expect: {
    outcome: 'admitted' | 'rate_limited' | 'quota_exceeded';
    /** The binding bucket's limit and what is left in it. */
    limit: number;
    remaining: number;
    resetSeconds: number;
    retryAfterSeconds?: number;
    usedAfter?: number[];
    used?: number;
  };
}

export interface LimiterCase {
  name: string;
  plan: RateLimit;
  /** Keys with their own (tighter) limit. */
  own?: Record<string, RateLimit>;
  /** Committed usage per meter, as Postgres would seed the counters. */
  seeded?: Record<string, number>;
  steps: LimiterStep[];
}

export const LIMITER_PERIOD = '2026-11';
/** A fixed clock inside LIMITER_PERIOD: 2026-11-29T00:00:00Z, plus each step's `at`. */
export const LIMITER_EPOCH = Date.UTC(2026, 10, 29);

const ok = (limit: number, remaining: number, resetSeconds: number, usedAfter?: number[]) => ({
  outcome: 'admitted' as const,
  limit,
  remaining,
  resetSeconds,
  ...(usedAfter ? { usedAfter } : {}),
});
const limited = (limit: number, remaining: number, retryAfterSeconds: number) => ({
  outcome: 'rate_limited' as const,
  limit,
  remaining,
  resetSeconds: retryAfterSeconds,
  retryAfterSeconds,
});

export const LIMITER_CASES: LimiterCase[] = [
  {
    name: "the plan's limit belongs to the org: all its keys share one bucket",
    plan: { limit: 3, periodSeconds: 1 },
    steps: [
      { at: 0, key: 'a', expect: ok(3, 2, 1) },
      { at: 0, key: 'b', expect: ok(3, 1, 1) },
      { at: 0, key: 'a', expect: ok(3, 0, 1) },
      { at: 0, key: 'b', expect: limited(3, 0, 1) },
      { at: 334, key: 'b', expect: ok(3, 0, 1) },
    ],
  },
  {
    name: "a key's own tighter limit binds it first; the org's bucket is still paid",
    plan: { limit: 10, periodSeconds: 1 },
    own: { a: { limit: 2, periodSeconds: 1 } },
    steps: [
      { at: 0, key: 'a', expect: ok(2, 1, 1) },
      { at: 0, key: 'a', expect: ok(2, 0, 1) },
      { at: 0, key: 'a', expect: limited(2, 0, 1) },
      // Two units were taken from the org by key a (not three): 7 left after this one.
      { at: 0, key: 'b', expect: ok(10, 7, 1) },
    ],
  },
  {
    name: "the org's bucket refuses a key whose own bucket has room, and takes nothing from it",
    plan: { limit: 2, periodSeconds: 1 },
    own: { a: { limit: 5, periodSeconds: 1 } },
    steps: [
      { at: 0, key: 'b', expect: ok(2, 1, 1) },
      { at: 0, key: 'b', expect: ok(2, 0, 1) },
      { at: 0, key: 'a', expect: limited(2, 0, 1) },
      // Key a's own bucket is full (4 left after this one), the org's binds at 0.
      { at: 500, key: 'a', expect: ok(2, 0, 1) },
    ],
  },
  {
    name: 'a hard quota lets exactly `included` through; the refusal takes no rate unit',
    plan: { limit: 100, periodSeconds: 1 },
    steps: [
      { at: 0, key: 'a', charges: [charge(1, 2)], expect: ok(100, 99, 1, [1]) },
      { at: 0, key: 'a', charges: [charge(1, 2)], expect: ok(100, 98, 1, [2]) },
      {
        at: 0,
        key: 'a',
        charges: [charge(1, 2)],
        expect: { outcome: 'quota_exceeded', limit: 100, remaining: 98, resetSeconds: 1, used: 2 },
      },
      { at: 0, key: 'a', expect: ok(100, 97, 1) },
    ],
  },
  {
    name: 'a rate refusal reserves nothing of a quota',
    plan: { limit: 1, periodSeconds: 60 },
    steps: [
      { at: 0, key: 'a', charges: [charge(1, 5)], expect: ok(1, 0, 60, [1]) },
      { at: 0, key: 'a', charges: [charge(1, 5)], expect: limited(1, 0, 60) },
      { at: 60_000, key: 'a', charges: [charge(1, 5)], expect: ok(1, 0, 60, [2]) },
    ],
  },
  {
    name: 'quotas start from the committed usage, and one over refuses the others too',
    plan: { limit: 100, periodSeconds: 1 },
    seeded: { api_calls: 3, tokens: 60 },
    steps: [
      {
        at: 0,
        key: 'a',
        charges: [charge(1, 10), { meter: 'tokens', amount: 50, included: 100 }],
        expect: {
          outcome: 'quota_exceeded',
          limit: 100,
          remaining: 100,
          resetSeconds: 0,
          used: 60,
        },
      },
      { at: 0, key: 'a', charges: [charge(1, 10)], expect: ok(100, 99, 1, [4]) },
      {
        at: 0,
        key: 'a',
        charges: [{ meter: 'tokens', amount: 40, included: 100 }],
        expect: ok(100, 98, 1, [100]),
      },
    ],
  },
];

function charge(amount: number, included: number) {
  return { meter: 'api_calls', amount, included };
}

/** A ledger that answers the case's committed usage, as Postgres would. */
export const ledgerOf = (seeded: Record<string, number> = {}) =>
  ({
    usedInPeriod: async ({ meter }: { meter: string }) => seeded[meter] ?? 0,
  }) as unknown as QuotaLedgerRepository;

/** Runs a case's steps against a limiter; answers what each decision looked like. */
export async function runLimiterCase(
  limiter: LimiterService,
  testCase: LimiterCase,
  orgId: string,
): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (const step of testCase.steps) {
    const own = testCase.own?.[step.key];
    const subject: LimitSubject = {
      orgId,
      buckets: [
        { name: 'org', limit: testCase.plan },
        ...(own ? [{ name: `key:${step.key}`, limit: own }] : []),
      ],
    };
    const charges = (step.charges ?? []).map((c) => ({
      ...c,
      period: LIMITER_PERIOD,
      measure: 'count' as const,
    }));
    seen.push(summary(await limiter.decide(subject, 1, charges, LIMITER_EPOCH + step.at)));
  }
  return seen;
}

function summary(decision: LimitsDecision) {
  const { limit, remaining, resetSeconds } = decision.rate;
  return {
    outcome: decision.outcome,
    limit,
    remaining,
    resetSeconds,
    ...(decision.outcome === 'rate_limited'
      ? { retryAfterSeconds: decision.retryAfterSeconds }
      : {}),
    ...(decision.outcome === 'admitted' && decision.usedAfter?.length
      ? { usedAfter: decision.usedAfter }
      : {}),
    ...(decision.outcome === 'quota_exceeded' ? { used: decision.used } : {}),
  };
}
