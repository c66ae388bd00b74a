import Redis, { Cluster, RedisOptions } from 'ioredis';

/** What a subscriber is told. Between `onLost` and the next `onSubscribed` messages may be missed. */
export interface ChannelHandlers {
  onSubscribed(): void;
  onLost(): void;
  onMessage(message: string): void;
}

export interface ChannelSubscription {
  close(): void;
}

type NodeAddress = { host: string; port: number };

/** After a lost subscriber connection, the next try waits this long (growing to a second). */
const resubscribeDelay = (attempt: number) => Math.min(100 * attempt, 1_000);

/**
 * Broadcast messages between the instances over the shared Redis (`PUBLISH`/`SUBSCRIBE`; on a
 * Cluster, `PUBLISH` reaches the subscribers of every node through the cluster bus, so a
 * subscriber may sit on any node). Channel names get `REDIS_KEY_PREFIX` like keys do.
 *
 * A subscription is one connection of its own whose state the subscriber is told of: it knows
 * exactly when it may have missed a message (ioredis' own resubscription, after a reconnection or
 * when a Cluster node goes away, is silent about the gap). When that connection is lost, the next
 * one goes to the next node that is known (the Cluster's current nodes, then the configured ones).
 *
 * Sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`) would keep messages within one shard, but its
 * subscriber must follow the slot of the channel across resharding and failover, which ioredis
 * reports only through its own silent resubscription; the messages here are rare (key
 * revocations, plan changes), so the broadcast costs nothing worth that.
 */
export class RedisPubSub {
  constructor(
    private readonly redis: Redis | Cluster | null,
    private readonly clusterNodes: NodeAddress[] = [],
  ) {}

  /** Whether there is a shared Redis: without one, there are no other instances to tell. */
  get enabled(): boolean {
    return this.redis !== null;
  }

  /** Sends `message` to every subscriber of `channel` (those connected now). */
  async publish(channel: string, message: string): Promise<void> {
    if (!this.redis) return;
    await this.redis.publish(this.prefixed(channel), message);
  }

  subscribe(channel: string, handlers: ChannelHandlers): ChannelSubscription | null {
    if (!this.redis) return null;
    return new Subscriber(() => this.candidates(), this.prefixed(channel), handlers);
  }

  private prefixed(channel: string): string {
    return `${this.redis?.options.keyPrefix ?? ''}${channel}`;
  }

  /** Where a subscriber may connect, best first. */
  private candidates(): RedisOptions[] {
    const redis = this.redis!;
    if (!(redis instanceof Cluster)) return [redis.options];
    const known = [...redis.nodes('master'), ...redis.nodes('slave')].map((n) => n.options);
    const seen = new Set<string>();
    return [...known, ...this.clusterNodes]
      .filter(({ host, port }) => !seen.has(`${host}:${port}`) && seen.add(`${host}:${port}`))
      .map(({ host, port }) => ({ ...redis.options.redisOptions, host, port }));
  }
}

class Subscriber implements ChannelSubscription {
  private connection?: Redis;
  private timer?: NodeJS.Timeout;
  /** Which of the candidates this subscriber is on; the next one once that one is lost. */
  private node = 0;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly candidates: () => RedisOptions[],
    private readonly channel: string,
    private readonly handlers: ChannelHandlers,
  ) {
    this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.connection?.disconnect();
  }

  private connect(): void {
    if (this.closed) return;
    const nodes = this.candidates();
    const connection = new Redis({
      ...nodes[this.node % nodes.length],
      keyPrefix: undefined,
      lazyConnect: true,
      enableOfflineQueue: true,
      // This class reconnects (possibly elsewhere) and resubscribes, so that it knows of the gap.
      retryStrategy: () => null,
      autoResubscribe: false,
      enableAutoPipelining: false,
    });
    this.connection = connection;
    connection.on('error', () => undefined); // the shared client already logs connection trouble
    connection.on('ready', () => {
      connection.subscribe(this.channel).then(
        () => {
          this.failures = 0;
          this.handlers.onSubscribed();
        },
        () => connection.disconnect(),
      );
    });
    connection.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.handlers.onMessage(message);
    });
    connection.on('close', () => this.handlers.onLost());
    connection.once('end', () => {
      if (this.closed) return;
      this.node++;
      this.timer = setTimeout(() => this.connect(), resubscribeDelay(++this.failures));
      this.timer.unref();
    });
    connection.connect().catch(() => undefined);
  }
}
