import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis, { Cluster } from 'ioredis';
import { AppConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { RedisPubSub } from './redis-pubsub';

/** A connection to the shared Redis: one server (`REDIS_URL`) or a Cluster (`REDIS_CLUSTER_NODES`). */
export type RedisConnection = Redis | Cluster;
/** The shared client, or `null` when neither is configured (embedded, single-instance mode). */
export const REDIS = Symbol('REDIS');
export type RedisClient = RedisConnection | null;
export type RedisSettings = AppConfig['redis'];

/** A request never waits longer than this on Redis. */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

/** Reconnection in the background: soon at first, then every second. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 1_000);

/**
 * Fail fast instead of queueing commands while disconnected: callers decide (fail open or closed,
 * or process memory), and nothing is replayed later.
 */
const FAIL_FAST = {
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  connectTimeout: 1_000,
  disconnectTimeout: 200,
  maxRetriesPerRequest: 0,
} as const;

/** The client the settings name: a Cluster when nodes are given, else the server of the URL. */
export function createRedisClient(settings: RedisSettings): RedisConnection {
  const { url, clusterNodes, keyPrefix } = settings;
  if (clusterNodes.length > 0) {
    const cluster = new Cluster(clusterNodes, {
      keyPrefix,
      enableOfflineQueue: false,
      lazyConnect: true,
      clusterRetryStrategy: reconnectDelay,
      // A node that went away, or a cluster that is down, fails the command at once (the failure
      // mode applies) rather than retrying it past the 500 ms budget; slot moves (MOVED, ASK) are
      // still followed, and a few TRYAGAIN during resharding are retried.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      retryDelayOnTryAgain: 100,
      maxRedirections: 4,
      slotsRefreshTimeout: 1_000,
      slotsRefreshInterval: 2_000,
      // Not on a Cluster: before the slots are first known, auto-pipelined commands wait for the
      // cluster to connect (an offline queue by another name).
      enableAutoPipelining: false,
      redisOptions: FAIL_FAST,
    });
    // ioredis connects to a node when it first sends it a command, and without an offline queue
    // it refuses the commands that arrive while that connection is being made: once connected,
    // connect to every node at once instead (not before: the ready check itself would be refused).
    const connectNode = (node: Redis) => {
      if (node.status === 'wait') node.connect().catch(() => undefined);
    };
    cluster.on('ready', () => cluster.nodes().forEach(connectNode));
    cluster.on('+node', (node: Redis) => {
      if (cluster.status === 'ready') connectNode(node);
    });
    return cluster;
  }
  if (!url) throw new Error('createRedisClient: neither REDIS_URL nor REDIS_CLUSTER_NODES is set');
  return new Redis(url, {
    keyPrefix,
    enableOfflineQueue: false,
    ...FAIL_FAST,
    retryStrategy: reconnectDelay,
    lazyConnect: true,
    // Commands issued in the same tick (concurrent requests) share one write to the socket.
    enableAutoPipelining: true,
  });
}

/**
 * Connects the client; resolves once a Cluster's masters are connected too (or failed to), so
 * that the first requests find them ready. Rejects when Redis cannot be reached: the client goes
 * on reconnecting in the background.
 */
export async function connectRedis(redis: RedisConnection): Promise<void> {
  await redis.connect();
  if (redis instanceof Cluster)
    await Promise.all(redis.nodes('master').map((node) => node.ping().catch(() => undefined)));
}

const CLUSTER_SLOTS = 16_384;

/**
 * Whether Redis answers: the one server a PING; a Cluster, the master of every slot with
 * `cluster_state:ok` (a master that went away leaves its slots' keys unreachable some seconds
 * before the others declare the cluster failed). Throws naming what does not answer.
 */
export async function pingRedis(redis: RedisConnection): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`Redis connection is ${redis.status}`);
  if (!(redis instanceof Cluster)) {
    await redis.ping();
    return;
  }
  const owners = new Set<string>();
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const owner = redis.slots[slot]?.[0];
    if (!owner) throw new Error(`Redis Cluster slot ${slot} has no master`);
    owners.add(owner);
  }
  const masters = new Map(
    redis.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]),
  );
  await Promise.all(
    [...owners].map(async (owner) => {
      const master = masters.get(owner);
      if (!master) throw new Error(`Redis Cluster master ${owner} is not connected`);
      const info = await master.cluster('INFO');
      if (!info.includes('cluster_state:ok'))
        throw new Error(`Redis Cluster master ${owner} reports the cluster failed`);
    }),
  );
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ConfigService, MetricsService],
      useFactory: async (
        config: ConfigService<AppConfig, true>,
        metrics: MetricsService,
      ): Promise<RedisClient> => {
        const settings = config.get('redis', { infer: true });
        if (!settings.url && settings.clusterNodes.length === 0) return null;
        const logger = new Logger('Redis');
        const client = createRedisClient(settings);
        metrics.watchRedis(client);
        const warn = (error: Error) => logger.warn(`Redis: ${error.message}`);
        client.on('error', warn);
        client.on('node error', warn);
        // Start even when Redis is down: the failure mode decides what requests get, and the
        // client keeps reconnecting in the background.
        await connectRedis(client).catch((error: Error) =>
          logger.warn(`Redis not reachable at start: ${error.message}`),
        );
        return client;
      },
    },
    {
      provide: RedisPubSub,
      inject: [REDIS, ConfigService],
      useFactory: (redis: RedisClient, config: ConfigService<AppConfig, true>) =>
        new RedisPubSub(redis, config.get('redis', { infer: true }).clusterNodes),
    },
  ],
  exports: [REDIS, RedisPubSub],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
