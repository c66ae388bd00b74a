import { Inject, Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS, RedisClient, RedisConnection } from '../redis/redis.module';

/** Which counter fell back to process memory (the metric's label). */
export type CircuitUser = 'ip' | 'email' | 'api_key_ip' | 'leases';

/** After a Redis error, this long goes straight to process memory, so that one request never waits
 * on Redis twice (a login asks the per-address and the per-email limiter). */
export const REDIS_CIRCUIT_COOL_DOWN_MS = 1_000;
const WARNING_INTERVAL_MS = 10_000;

/**
 * How the best-effort counters (sign-up and login throttles, failed API keys per address) use the
 * shared Redis: a call that cannot be made (no Redis
 * configured, connection down, cooling down after an error) or that fails is answered from process
 * memory instead, so Redis trouble never turns into a 500 or a wait beyond the client's command
 * timeout. Failures are counted in metrics and logged at most every 10 seconds.
 */
@Injectable()
export class RedisCircuit {
  private readonly logger = new Logger('RedisCircuit');
  private coolDownUntil = 0;
  private lastWarningAt = 0;
  private suppressedWarnings = 0;

  constructor(
    @Inject(REDIS) readonly redis: RedisClient,
    private readonly metrics: MetricsService,
  ) {}

  async run<T>(
    limiter: CircuitUser,
    onRedis: (redis: RedisConnection) => Promise<T>,
    inMemory: () => T | Promise<T>,
  ): Promise<T> {
    const redis = this.redis;
    if (!redis) return inMemory();
    if (redis.status !== 'ready') {
      this.failed(limiter, `Redis connection is ${redis.status}`);
      return inMemory();
    }
    if (Date.now() < this.coolDownUntil) {
      this.failed(limiter, 'cooling down after a Redis error');
      return inMemory();
    }
    try {
      return await onRedis(redis);
    } catch (error) {
      this.coolDownUntil = Date.now() + REDIS_CIRCUIT_COOL_DOWN_MS;
      this.failed(limiter, (error as Error).message);
      return inMemory();
    }
  }

  private failed(limiter: CircuitUser, reason: string): void {
    this.metrics.authThrottleFallbacks.inc({ limiter });
    const now = Date.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) {
      this.suppressedWarnings++;
      return;
    }
    const suppressed = this.suppressedWarnings
      ? ` (${this.suppressedWarnings} more since the last warning)`
      : '';
    this.lastWarningAt = now;
    this.suppressedWarnings = 0;
    this.logger.warn(
      `Throttling (${limiter}) falls back to process memory: ${reason}${suppressed}`,
    );
  }
}
