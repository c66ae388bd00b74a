import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Result } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS, RedisClient } from '../redis/redis.module';
import { gcra } from './gcra';
import { GCRA_LUA } from './limiter.lua';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    decideLimits(
      numberOfKeys: number,
      ...keysAndArgs: (string | number)[]
    ): Result<(number | string)[], Context>;
  }
}

export interface RateLimit {
  limit: number;
  periodSeconds: number;
}

export interface RateDecision extends RateLimit {
  allowed: boolean;
  remaining: number;
  /** Seconds until a unit comes back. */
  resetSeconds: number;
  /** Seconds to wait before retrying; 0 when allowed. */
  retryAfterSeconds: number;
  /** True when Redis could not be asked and the failure mode `open` let the request through. */
  degraded?: boolean;
}

/** Units of a hard-quota meter that one request wants, against what the period includes. */
export interface QuotaCharge {
  meter: string;
  /** `YYYY-MM` */
  period: string;
  amount: number;
  included: number;
  /** How long the counter is worth keeping (until the period is well over). */
  ttlMs: number;
}

export type QuotaOutcome =
  | { status: 'ok'; usedAfter: number[] }
  | { status: 'exceeded'; index: number; used: number }
  /** Redis could not be asked: the caller must decide the quota against Postgres. */
  | { status: 'unchecked' };

export interface LimitsDecision {
  rate: RateDecision;
  quota: QuotaOutcome;
}

/** Reads a quota counter's true value (units used this period) from Postgres. */
export type QuotaSeed = (charge: QuotaCharge) => Promise<number>;

/** Redis could not be asked and the failure mode is `closed`. */
export class LimiterUnavailableError extends Error {}

/** The Redis keys of one org. The org hash tag keeps every key one decision touches on one Cluster slot. */
export const bucketKey = (orgId: string, name: string) => `{org:${orgId}}:rl:${name}`;
export const quotaKey = (orgId: string, meter: string, period: string) =>
  `{org:${orgId}}:q:${meter}:${period}`;

const toSeconds = (ms: number) => Math.ceil(ms / 1000);
const NO_QUOTA: QuotaOutcome = { status: 'ok', usedAfter: [] };

/**
 * Decides rate limits and hard quotas together: one EVALSHA on Redis (exact across instances),
 * or the same maths in process memory without REDIS_URL. A quota counter that does not exist
 * (first use, or Redis lost its data) is seeded from Postgres, the truth, and the decision is
 * retried. When Redis does not answer, the failure mode applies to the rate limit (`open` lets
 * the request through, `closed` raises LimiterUnavailableError) and quotas come back `unchecked`,
 * for the caller to decide against Postgres: hard quotas never fail open.
 */
@Injectable()
export class RateLimiterService implements OnModuleInit {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly memoryBuckets = new LRUCache<string, number>({ max: 200_000 });
  private readonly memoryQuotas = new LRUCache<string, number>({ max: 200_000 });
  private readonly failureMode: 'open' | 'closed';
  private lastFailureLog = 0;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.failureMode = config.get('limits', { infer: true }).failureMode;
  }

  onModuleInit(): void {
    // defineCommand sends EVALSHA, and EVAL (which reloads the script) on NOSCRIPT.
    this.redis?.defineCommand('decideLimits', { lua: GCRA_LUA });
  }

  /** One unit (or `cost`) of a rate limit, nothing else. */
  async consume(orgId: string, bucket: string, limit: RateLimit, cost = 1): Promise<RateDecision> {
    return (await this.decide(orgId, bucket, limit, cost, [], async () => 0)).rate;
  }

  async decide(
    orgId: string,
    bucket: string,
    limit: RateLimit,
    cost: number,
    quotas: QuotaCharge[],
    seed: QuotaSeed,
  ): Promise<LimitsDecision> {
    if (!this.redis) return this.decideInMemory(orgId, bucket, limit, cost, quotas, seed);
    const keys = [
      bucketKey(orgId, bucket),
      ...quotas.map((q) => quotaKey(orgId, q.meter, q.period)),
    ];
    const args = [
      limit.limit,
      limit.periodSeconds * 1000,
      cost,
      '',
      ...quotas.flatMap((q) => [q.amount, q.included]),
    ];
    try {
      for (let attempt = 0; ; attempt++) {
        const reply = await this.redis.decideLimits(keys.length, ...keys, ...args);
        if (Number(reply[0]) !== -1 || attempt >= 3) return this.fromReply(reply, limit);
        const charge = quotas[Number(reply[1]) - 1];
        const used = await seed(charge);
        await this.redis.set(keys[Number(reply[1])], String(used), 'PX', charge.ttlMs, 'NX');
      }
    } catch (error) {
      if (error instanceof LimiterUnavailableError) throw error;
      return { rate: this.onRedisFailure(error as Error, limit), quota: { status: 'unchecked' } };
    }
  }

  /** Gives back units reserved for requests that turned out not to count (duplicates, failed writes). */
  async refund(orgId: string, charges: QuotaCharge[]): Promise<void> {
    const due = charges.filter((c) => c.amount > 0);
    if (due.length === 0) return;
    if (!this.redis) {
      for (const c of due) {
        const key = quotaKey(orgId, c.meter, c.period);
        const used = this.memoryQuotas.get(key);
        if (used !== undefined) this.memoryQuotas.set(key, used - c.amount, { ttl: c.ttlMs });
      }
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const c of due) pipeline.incrbyfloat(quotaKey(orgId, c.meter, c.period), -c.amount);
    await pipeline.exec().catch((error: Error) => this.reportRedisFailure(error));
  }

  /** Forgets quota counters so that the next decision seeds them from Postgres again. */
  async forgetQuotas(keys: { orgId: string; meter: string; period: string }[]): Promise<void> {
    const names = keys.map((k) => quotaKey(k.orgId, k.meter, k.period));
    if (names.length === 0) return;
    if (!this.redis) names.forEach((n) => this.memoryQuotas.delete(n));
    else await this.redis.del(...names);
  }

  private fromReply(reply: (number | string)[], limit: RateLimit): LimitsDecision {
    const [status, remaining, resetMs, retryAfterMs] = reply.map(Number);
    const rate: RateDecision = {
      ...limit,
      allowed: status === 1 || status === 2,
      remaining,
      resetSeconds: toSeconds(resetMs),
      retryAfterSeconds: toSeconds(retryAfterMs),
    };
    if (status === 2) {
      return {
        rate,
        quota: { status: 'exceeded', index: Number(reply[4]) - 1, used: Number(reply[5]) },
      };
    }
    return { rate, quota: { status: 'ok', usedAfter: reply.slice(5).map(Number) } };
  }

  private async decideInMemory(
    orgId: string,
    bucket: string,
    limit: RateLimit,
    cost: number,
    quotas: QuotaCharge[],
    seed: QuotaSeed,
  ): Promise<LimitsDecision> {
    const quotaKeys = quotas.map((q) => quotaKey(orgId, q.meter, q.period));
    for (const [i, key] of quotaKeys.entries()) {
      if (!this.memoryQuotas.has(key)) {
        const used = await seed(quotas[i]);
        if (!this.memoryQuotas.has(key)) this.memoryQuotas.set(key, used, { ttl: quotas[i].ttlMs });
      }
    }
    // From here to the end nothing awaits: the check and the update are one step, as in Lua.
    const key = bucketKey(orgId, bucket);
    const nowMs = Date.now();
    const periodMs = limit.periodSeconds * 1000;
    const decision = gcra(this.memoryBuckets.get(key) ?? null, nowMs, limit.limit, periodMs, cost);
    const rate: RateDecision = {
      ...limit,
      allowed: decision.allowed,
      remaining: decision.remaining,
      resetSeconds: toSeconds(decision.resetMs),
      retryAfterSeconds: toSeconds(decision.retryAfterMs),
    };
    if (!decision.allowed) return { rate, quota: NO_QUOTA };
    const used = quotaKeys.map((k) => this.memoryQuotas.get(k) ?? 0);
    const over = quotas.findIndex((q, i) => used[i] + q.amount > q.included);
    if (over >= 0) return { rate, quota: { status: 'exceeded', index: over, used: used[over] } };
    this.memoryBuckets.set(key, decision.tat, {
      ttl: Math.max(1, Math.ceil(decision.tat - nowMs)),
    });
    const usedAfter = quotas.map((q, i) => {
      this.memoryQuotas.set(quotaKeys[i], used[i] + q.amount, { ttl: q.ttlMs });
      return used[i] + q.amount;
    });
    return { rate, quota: { status: 'ok', usedAfter } };
  }

  /** Shared by every Redis-backed decision (rate limits and quotas). */
  reportRedisFailure(error: Error): void {
    this.metrics.limiterFailures.inc({ mode: this.failureMode });
    if (Date.now() - this.lastFailureLog > 10_000) {
      this.lastFailureLog = Date.now();
      this.logger.warn(
        `Redis unavailable for limits (${error.message}); failing ${this.failureMode}`,
      );
    }
  }

  private onRedisFailure(error: Error, limit: RateLimit): RateDecision {
    this.reportRedisFailure(error);
    if (this.failureMode === 'closed') throw new LimiterUnavailableError(error.message);
    return {
      ...limit,
      allowed: true,
      remaining: limit.limit,
      resetSeconds: 0,
      retryAfterSeconds: 0,
      degraded: true,
    };
  }
}
