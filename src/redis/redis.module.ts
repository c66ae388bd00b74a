import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { AppConfig } from '../config/configuration';

/** The shared ioredis client, or `null` when `REDIS_URL` is unset (embedded, single-instance mode). */
export const REDIS = Symbol('REDIS');
export type RedisClient = Redis | null;

/** A request never waits longer than this on Redis. */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

export function createRedisClient(url: string, keyPrefix: string): Redis {
  return new Redis(url, {
    keyPrefix,
    // Fail fast instead of queueing commands while disconnected: callers decide (fail open or
    // closed), and nothing is replayed later.
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 1_000,
    disconnectTimeout: 200,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    lazyConnect: true,
    // Commands issued in the same tick (concurrent requests) share one write to the socket.
    enableAutoPipelining: true,
  });
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ConfigService],
      useFactory: async (config: ConfigService<AppConfig, true>): Promise<RedisClient> => {
        const { url, keyPrefix } = config.get('redis', { infer: true });
        if (!url) return null;
        const logger = new Logger('Redis');
        const client = createRedisClient(url, keyPrefix);
        client.on('error', (error: Error) => logger.warn(`Redis: ${error.message}`));
        // Start even when Redis is down: the failure mode decides what requests get, and the
        // client keeps reconnecting in the background.
        await client
          .connect()
          .catch((error: Error) => logger.warn(`Redis not reachable at start: ${error.message}`));
        return client;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
