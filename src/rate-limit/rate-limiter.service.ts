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
    gcraConsume(
      bucket: string,
      limit: number,
      periodMs: number,
      cost: number,
      nowMs: number | '',
    ): Result<[number, number, number, number], Context>;
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

/** Redis could not be asked and the failure mode is `closed`. */
export class LimiterUnavailableError extends Error {}

/** The Redis key of a bucket. The org hash tag keeps every key one decision touches on one Cluster slot. */
export const bucketKey = (orgId: string, name: string) => `{org:${orgId}}:rl:${name}`;

const toSeconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * Takes units from rate-limit buckets: one EVALSHA per decision on Redis (exact across instances),
 * or the same maths in process memory without REDIS_URL. When Redis does not answer, the
 * configured failure mode applies: `open` lets the request through (counted and logged), `closed`
 * raises LimiterUnavailableError. Never waits longer than the Redis command timeout.
 */
@Injectable()
export class RateLimiterService implements OnModuleInit {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly memory = new LRUCache<string, number>({ max: 200_000, ttlAutopurge: false });
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
    this.redis?.defineCommand('gcraConsume', { numberOfKeys: 1, lua: GCRA_LUA });
  }

  async consume(
    orgId: string,
    bucket: string,
    limit: RateLimit,
    cost = 1,
    nowMs?: number,
  ): Promise<RateDecision> {
    const periodMs = limit.periodSeconds * 1000;
    const key = bucketKey(orgId, bucket);
    if (!this.redis) return this.consumeInMemory(key, limit, periodMs, cost, nowMs ?? Date.now());
    try {
      const [allowed, remaining, resetMs, retryAfterMs] = await this.redis.gcraConsume(
        key,
        limit.limit,
        periodMs,
        cost,
        nowMs ?? '',
      );
      return {
        ...limit,
        allowed: allowed === 1,
        remaining,
        resetSeconds: toSeconds(resetMs),
        retryAfterSeconds: toSeconds(retryAfterMs),
      };
    } catch (error) {
      return this.onRedisFailure(error as Error, limit);
    }
  }

  private consumeInMemory(
    key: string,
    limit: RateLimit,
    periodMs: number,
    cost: number,
    nowMs: number,
  ): RateDecision {
    const decision = gcra(this.memory.get(key) ?? null, nowMs, limit.limit, periodMs, cost);
    if (decision.allowed)
      this.memory.set(key, decision.tat, { ttl: Math.max(1, Math.ceil(decision.tat - nowMs)) });
    return {
      ...limit,
      allowed: decision.allowed,
      remaining: decision.remaining,
      resetSeconds: toSeconds(decision.resetMs),
      retryAfterSeconds: toSeconds(decision.retryAfterMs),
    };
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
