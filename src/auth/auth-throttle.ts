import { createHash } from 'node:crypto';
import { ExecutionContext, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Cluster } from 'ioredis';
import {
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
  ThrottlerStorageService,
} from '@nestjs/throttler';
import { AppConfig } from '../config/configuration';
import { LimitsModule } from '../limits/limits.module';
import { RedisCircuit } from '../limits/redis-circuit';
import { AuthError } from './auth.errors';

/** The named throttler of sign-up and login: requests per client address per minute. */
export const AUTH_THROTTLER = 'auth';
const AUTH_THROTTLE_TTL_MS = 60_000;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * The throttler's storage: `@nest-lab/throttler-storage-redis` on the shared client when Redis is
 * configured (one count for every instance), else the throttler's own in-memory storage. A Redis
 * call that cannot be made or fails is answered from the in-memory storage instead.
 */
@Injectable()
export class FailSafeThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly memory = new ThrottlerStorageService();
  private readonly shared: ThrottlerStorageRedisService | null;

  constructor(private readonly circuit: RedisCircuit) {
    // Given a client (one server or a Cluster), the Redis storage uses it as is (prefix, timeouts,
    // no offline queue) and never disconnects it. Its two keys per address share a hash tag
    // (`{<key>:<throttler>}:hits` and `:blocked`), so its script runs on a Cluster too.
    const redis = circuit.redis;
    this.shared = !redis
      ? null
      : redis instanceof Cluster
        ? new ThrottlerStorageRedisService(redis)
        : new ThrottlerStorageRedisService(redis);
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const inMemory = () => this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
    const shared = this.shared;
    if (!shared) return inMemory();
    return this.circuit.run(
      'ip',
      () => shared.increment(key, ttl, limit, blockDuration, throttlerName),
      inMemory,
    );
  }

  onApplicationShutdown(): void {
    this.memory.onApplicationShutdown();
  }
}

/** Provides the storage to `ThrottlerModule.forRootAsync`. */
@Module({
  imports: [LimitsModule],
  providers: [FailSafeThrottlerStorage],
  exports: [FailSafeThrottlerStorage],
})
export class AuthThrottleBackendModule {}

/** One budget per client address shared by sign-up and login, under a hashed (address-free) key. */
function addressKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
  return createHash('sha256').update(`${throttlerName}:${tracker}`).digest('hex');
}

export function authThrottlerOptions(
  config: ConfigService<AppConfig, true>,
  storage: FailSafeThrottlerStorage,
): ThrottlerModuleOptions {
  return {
    throttlers: [
      {
        name: AUTH_THROTTLER,
        limit: config.get('auth', { infer: true }).throttlePerIp,
        ttl: AUTH_THROTTLE_TTL_MS,
        blockDuration: AUTH_THROTTLE_TTL_MS,
        generateKey: addressKey,
      },
    ],
    storage,
    // The library's headers would be suffixed with the throttler name (`Retry-After-auth`):
    // `Retry-After` is set on the 429 below instead.
    setHeaders: false,
  };
}

/**
 * Per-address throttle of sign-up and login, applied per route (not globally: `/v1` has its own
 * limiter and `/auth/me` is not throttled). The client address is `req.ip`, which honours
 * `TRUST_PROXY`.
 */
@Injectable()
export class AuthThrottlerGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new AuthError(
      'too_many_requests',
      'Too many sign-up or login requests from this address; try again later',
      { retryAfterSeconds: detail.timeToBlockExpire },
    );
  }
}
