import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Result } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { periodBounds, secondsToNextPeriod } from '../common/period';
import { AppConfig } from '../config/configuration';
import { AdmissionOutcome, MetricsService } from '../metrics/metrics.service';
import { REDIS, RedisClient } from '../redis/redis.module';
import { BucketFigures, decideBuckets } from './gcra';
import { LIMITER_LUA } from './limiter.lua';
import { LimitsError } from './limits.errors';
import { QuotaLedgerRepository, QuotaMeasure } from './quota-ledger.repository';
import { RateLimit } from './rate-limit';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    decideLimits(
      numberOfKeys: number,
      ...keysAndArgs: (string | number)[]
    ): Result<(number | string)[], Context>;
  }
}

/** Who pays: an org, and the buckets of this request (its plan's, then the key's own if any). */
export interface LimitSubject {
  orgId: string;
  buckets: { name: string; limit: RateLimit }[];
}

/** Units of a hard-quota meter that one request wants, against what the period includes. */
export interface QuotaCharge {
  meter: string;
  /** `YYYY-MM` */
  period: string;
  amount: number;
  included: number;
  measure: QuotaMeasure;
}

/** What the RateLimit headers report: the binding bucket. */
export interface RateState extends RateLimit {
  remaining: number;
  /** Seconds until a unit comes back. */
  resetSeconds: number;
}

export type LimitsDecision =
  | {
      outcome: 'admitted';
      rate: RateState;
      /** Each charge's usage after this request; null when Redis could not be asked and the
       * quotas are still to be decided against Postgres (see QuotaFallback). */
      usedAfter: number[] | null;
      /** Redis could not be asked and the failure mode `open` let the request through. */
      degraded: boolean;
    }
  | { outcome: 'rate_limited'; rate: RateState; retryAfterSeconds: number }
  | {
      outcome: 'quota_exceeded';
      rate: RateState;
      /** Which charge is over. */
      index: number;
      used: number;
      retryAfterSeconds: number;
    };

/** The Redis keys of one org. The org hash tag keeps every key one decision touches on one Cluster slot. */
export const bucketKey = (orgId: string, name: string) => `{org:${orgId}}:rl:${name}`;
export const quotaKey = (orgId: string, meter: string, period: string) =>
  `{org:${orgId}}:q:${meter}:${period}`;

const DAY_MS = 24 * 3600_000;
/** How many times a missing quota counter is seeded before the decision goes to Postgres. */
const SEED_ATTEMPTS = 3;
const toSeconds = (ms: number) => Math.ceil(ms / 1000);
/**
 * The in-process buckets' clock: monotonic, so that a wall clock stepped back (NTP, a test's fake
 * Date) cannot leave their theoretical arrival times in the future and refuse an org until the
 * clock catches up. (Redis decides by its own TIME.)
 */
const monotonicNow = () => performance.timeOrigin + performance.now();
/**
 * A bucket is kept this long past its TAT (after which it is as good as empty), so that the
 * clock a decision is made with and the clock that expires entries may differ a little.
 */
const TAT_MARGIN_MS = 1_000;

/** Quota counters outlive their period by the longest an event may arrive late, and a margin. */
function counterTtlMs(period: string, now: number): number {
  return Math.max(1, periodBounds(period).to.getTime() + 36 * DAY_MS - now);
}

/**
 * Decides rate limits and hard quotas together: one EVALSHA on Redis (exact across instances), or
 * the same maths in process memory without REDIS_URL. A quota counter that does not exist (first
 * use, Redis lost its data, or another instance decided without Redis) is seeded from the
 * committed usage in Postgres, and the decision is retried. When Redis does not answer, the
 * failure mode applies to the rate limit (`open` lets the request through, `closed` is 503) and
 * quotas come back undecided, for QuotaFallback to decide against Postgres: hard quotas never fail
 * open. Nothing else in the platform decides a rate limit or a quota.
 */
@Injectable()
export class LimiterService implements OnModuleInit {
  private readonly logger = new Logger(LimiterService.name);
  private readonly memoryBuckets = new LRUCache<string, number>({ max: 200_000 });
  private readonly memoryQuotas = new LRUCache<string, number>({ max: 200_000 });
  private readonly failureMode: 'open' | 'closed';
  private lastFailureLog = 0;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly metrics: MetricsService,
    private readonly ledger: QuotaLedgerRepository,
    config: ConfigService<AppConfig, true>,
  ) {
    this.failureMode = config.get('limits', { infer: true }).failureMode;
  }

  onModuleInit(): void {
    // defineCommand sends EVALSHA, and EVAL (which reloads the script) on NOSCRIPT.
    this.redis?.defineCommand('decideLimits', { lua: LIMITER_LUA });
  }

  async decide(
    subject: LimitSubject,
    units: number,
    charges: QuotaCharge[],
    now?: number,
  ): Promise<LimitsDecision> {
    const decision = await this.decideSomewhere(subject, units, charges, now);
    this.metrics.admissionDecisions.inc({ outcome: outcomeOf(decision) });
    return decision;
  }

  private async decideSomewhere(
    subject: LimitSubject,
    units: number,
    charges: QuotaCharge[],
    now: number | undefined,
  ): Promise<LimitsDecision> {
    if (!this.redis)
      return this.decideInMemory(subject, units, charges, now ?? Date.now(), now ?? monotonicNow());
    try {
      return await this.decideOnRedis(this.redis, subject, units, charges, now);
    } catch (error) {
      if (error instanceof LimitsError) throw error;
      return this.onRedisFailure(error as Error, subject);
    }
  }

  private async decideOnRedis(
    redis: NonNullable<RedisClient>,
    subject: LimitSubject,
    units: number,
    charges: QuotaCharge[],
    now: number | undefined,
  ): Promise<LimitsDecision> {
    const { orgId, buckets } = subject;
    // The script's keys then arguments, in one array (this runs on every metered request).
    const run = (quotas: QuotaCharge[]) => {
      const keysAndArgs: (string | number)[] = [];
      for (const b of buckets) keysAndArgs.push(bucketKey(orgId, b.name));
      for (const q of quotas) keysAndArgs.push(quotaKey(orgId, q.meter, q.period));
      keysAndArgs.push(buckets.length, now === undefined ? '' : now, units);
      for (const b of buckets) keysAndArgs.push(b.limit.limit, b.limit.periodSeconds * 1000);
      for (const q of quotas) keysAndArgs.push(q.amount, q.included);
      return redis.decideLimits(buckets.length + quotas.length, ...keysAndArgs);
    };
    for (let attempt = 0; attempt < SEED_ATTEMPTS; attempt++) {
      const reply = await run(charges);
      if (Number(reply[0]) !== -1) return this.fromReply(reply, subject, now);
      const charge = charges[Number(reply[1]) - 1];
      const used = await this.ledger.usedInPeriod({ orgId, ...charge }, charge.measure);
      const ttl = counterTtlMs(charge.period, Date.now());
      await redis.set(quotaKey(orgId, charge.meter, charge.period), String(used), 'PX', ttl, 'NX');
    }
    // The counter keeps vanishing (someone is flushing Redis): decide the quotas in Postgres.
    const rateOnly = this.fromReply(await run([]), subject, now);
    return rateOnly.outcome === 'admitted' ? { ...rateOnly, usedAfter: null } : rateOnly;
  }

  /** Gives back units reserved for usage that did not count (duplicates, failed writes). */
  async refund(orgId: string, charges: QuotaCharge[]): Promise<void> {
    const due = charges.filter((c) => c.amount > 0);
    if (due.length === 0) return;
    if (!this.redis) {
      for (const c of due) {
        const key = quotaKey(orgId, c.meter, c.period);
        const used = this.memoryQuotas.get(key);
        if (used !== undefined) this.memoryQuotas.set(key, used - c.amount);
      }
      return;
    }
    // One command per counter (not a pipeline, which on a Cluster would wait for it to connect);
    // concurrent, and auto-pipelined into one write on a single server.
    const redis = this.redis;
    await Promise.all(
      due.map((c) => redis.incrbyfloat(quotaKey(orgId, c.meter, c.period), -c.amount)),
    ).catch((error: Error) => this.reportRedisFailure(error));
  }

  /** Forgets quota counters so that the next decision seeds them from Postgres again. */
  async forgetQuotas(counters: { orgId: string; meter: string; period: string }[]): Promise<void> {
    const byOrg = new Map<string, string[]>();
    for (const { orgId, meter, period } of counters) {
      const names = byOrg.get(orgId) ?? [];
      names.push(quotaKey(orgId, meter, period));
      byOrg.set(orgId, names);
    }
    const redis = this.redis;
    if (!redis) {
      for (const names of byOrg.values()) names.forEach((n) => this.memoryQuotas.delete(n));
      return;
    }
    // One DEL per org: on a Cluster, the keys of one command must share a slot (the org's tag).
    await Promise.all([...byOrg.values()].map((names) => redis.del(...names)));
  }

  private fromReply(
    reply: (number | string)[],
    subject: LimitSubject,
    now: number | undefined,
  ): LimitsDecision {
    const [status, bucket, remaining, resetMs, retryAfterMs] = reply.map(Number);
    const rate = this.rateState(subject, { bucket: bucket - 1, remaining, resetMs });
    if (status === 0)
      return { outcome: 'rate_limited', rate, retryAfterSeconds: toSeconds(retryAfterMs) };
    if (status === 2) {
      return {
        outcome: 'quota_exceeded',
        rate,
        index: Number(reply[5]) - 1,
        used: Number(reply[6]),
        retryAfterSeconds: secondsToNextPeriod(now),
      };
    }
    return { outcome: 'admitted', rate, usedAfter: reply.slice(5).map(Number), degraded: false };
  }

  private rateState(subject: LimitSubject, figures: BucketFigures): RateState {
    const { limit } = subject.buckets[figures.bucket];
    return { ...limit, remaining: figures.remaining, resetSeconds: toSeconds(figures.resetMs) };
  }

  /** `now` (wall time) places the quota periods; `clock` (monotonic) runs the buckets. */
  private async decideInMemory(
    subject: LimitSubject,
    units: number,
    charges: QuotaCharge[],
    now: number,
    clock: number,
  ): Promise<LimitsDecision> {
    const { orgId } = subject;
    const quotaKeys = charges.map((q) => quotaKey(orgId, q.meter, q.period));
    for (const [i, key] of quotaKeys.entries()) {
      if (this.memoryQuotas.has(key)) continue;
      const used = await this.ledger.usedInPeriod({ orgId, ...charges[i] }, charges[i].measure);
      if (!this.memoryQuotas.has(key))
        this.memoryQuotas.set(key, used, { ttl: counterTtlMs(charges[i].period, now) });
    }
    // From here to the end nothing awaits: the check and the update are one step, as in Lua.
    const bucketKeys = subject.buckets.map((b) => bucketKey(orgId, b.name));
    const decision = decideBuckets(
      subject.buckets.map((b, i) => ({
        tat: this.memoryBuckets.get(bucketKeys[i]) ?? null,
        limit: b.limit.limit,
        periodMs: b.limit.periodSeconds * 1000,
      })),
      clock,
      units,
    );
    if (!decision.allowed) {
      return {
        outcome: 'rate_limited',
        rate: this.rateState(subject, decision),
        retryAfterSeconds: toSeconds(decision.retryAfterMs),
      };
    }
    const used = quotaKeys.map((k) => this.memoryQuotas.get(k) ?? 0);
    const over = charges.findIndex((q, i) => used[i] + q.amount > q.included);
    if (over >= 0) {
      return {
        outcome: 'quota_exceeded',
        rate: this.rateState(subject, decision.before),
        index: over,
        used: used[over],
        retryAfterSeconds: secondsToNextPeriod(now),
      };
    }
    decision.tats.forEach((tat, i) =>
      this.memoryBuckets.set(bucketKeys[i], tat, { ttl: Math.ceil(tat - clock) + TAT_MARGIN_MS }),
    );
    const usedAfter = charges.map((q, i) => {
      this.memoryQuotas.set(quotaKeys[i], used[i] + q.amount);
      return used[i] + q.amount;
    });
    return {
      outcome: 'admitted',
      rate: this.rateState(subject, decision),
      usedAfter,
      degraded: false,
    };
  }

  /** Counted and logged (at most every 10 s) for every Redis-backed decision that failed. */
  reportRedisFailure(error: Error): void {
    this.metrics.limiterFailures.inc({ mode: this.failureMode });
    if (Date.now() - this.lastFailureLog > 10_000) {
      this.lastFailureLog = Date.now();
      this.logger.warn(
        `Redis unavailable for limits (${error.message}); failing ${this.failureMode}`,
      );
    }
  }

  private onRedisFailure(error: Error, subject: LimitSubject): LimitsDecision {
    this.reportRedisFailure(error);
    if (this.failureMode === 'closed') {
      this.metrics.admissionDecisions.inc({ outcome: 'failed_closed' });
      throw new LimitsError(
        'rate_limiter_unavailable',
        'Rate limiting is unavailable; try again shortly',
        { retryAfterSeconds: 1 },
      );
    }
    const { limit } = subject.buckets[0];
    return {
      outcome: 'admitted',
      rate: { ...limit, remaining: limit.limit, resetSeconds: 0 },
      usedAfter: null,
      degraded: true,
    };
  }
}

function outcomeOf(decision: LimitsDecision): AdmissionOutcome {
  if (decision.outcome === 'admitted') return decision.degraded ? 'failed_open' : 'allowed';
  return decision.outcome;
}
