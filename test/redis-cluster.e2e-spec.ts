import { connectRedis, createRedisClient } from '../src/redis/redis.module';
import { RedisPubSub } from '../src/redis/redis-pubsub';
import { createApiKey, createOrg, createUser } from './support/factories';
import { api, withKey } from './support/http';
import {
  describeWithRedis,
  DisposableRedis,
  DisposableRedisCluster,
  withRedis,
} from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/**
 * What a Redis Cluster changes, on a cluster of this spec's own (3 masters, no replicas) whose
 * nodes it stops: a master going away. The limiter, quota and revocation specs also run whole on
 * a shared cluster in CI (`REDIS_CLUSTER_NODES`).
 */
describeWithRedis('on a Redis Cluster', () => {
  const e2e = setupTestContext({ startApp: false });
  let cluster: DisposableRedisCluster;

  beforeAll(async () => {
    cluster = await DisposableRedisCluster.start(3);
  }, 60_000);
  afterAll(() => cluster?.stop());
  // A test that stopped a node leaves the cluster whole again for the next one.
  afterEach(async () => {
    await Promise.all(cluster.nodes.map((node) => node.resume()));
    await cluster.ready();
  }, 30_000);

  /** The node a pub/sub subscriber of this process is connected to. */
  async function subscriberNode(): Promise<DisposableRedis | undefined> {
    for (const node of cluster.nodes) {
      const clients = await withRedis(node.url, (r) => r.call('CLIENT', 'LIST', 'TYPE', 'pubsub'), {
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      }).catch(() => ''); // a stopped node
      if (String(clients).trim()) return node;
    }
    return undefined;
  }

  it('broadcasts over any node, and moves a subscription whose node went away, telling of the gap', async () => {
    const settings = { url: undefined, clusterNodes: cluster.addresses, keyPrefix: 'e2e-pubsub:' };
    const client = createRedisClient(settings);
    await connectRedis(client);
    const pubsub = new RedisPubSub(client, cluster.addresses);
    const events: string[] = [];
    const subscription = pubsub.subscribe('channel', {
      onSubscribed: () => events.push('subscribed'),
      onLost: () => events.push('lost'),
      onMessage: (message) => events.push(`message:${message}`),
    })!;
    try {
      await eventually(() => expect(events).toEqual(['subscribed']), { timeoutMs: 5000 });
      await pubsub.publish('channel', 'one');
      await eventually(() => expect(events).toContain('message:one'), { timeoutMs: 5000 });

      const node = await subscriberNode();
      expect(node).toBeDefined();
      await node!.stop();
      // Lost, then subscribed again on another node while this one is still away.
      await eventually(
        () => {
          expect(events.indexOf('lost')).toBeGreaterThan(events.indexOf('message:one'));
          expect(events.at(-1)).toBe('subscribed');
        },
        { timeoutMs: 10_000 },
      );
      expect(await subscriberNode()).not.toBe(node);
      await eventually(
        async () => {
          await pubsub.publish('channel', 'two');
          expect(events).toContain('message:two');
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
    } finally {
      subscription.close();
      client.disconnect();
    }
  });

  it('fails open within a second for the orgs of a master that went away, reports not ready, and recovers by itself', async () => {
    const instance = await e2e.ctx.startApp({
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      RATE_LIMIT_FAILURE_MODE: 'open',
    });
    const owner = await createUser(instance);
    const orgId = await createOrg(instance, owner);
    const { key } = await createApiKey(instance, owner, orgId, {
      rateLimit: { limit: 3, periodSeconds: 60 },
    });
    await api(instance, withKey(key)).get('/v1/ping').expect(200);
    await api(instance).get('/health/ready').expect(200);

    // The master holding every key of this org's decisions (their hash tag).
    const node = await cluster.nodeOf(`{org:${orgId}}`);
    await node.stop();
    const started = Date.now();
    const during = await api(instance, withKey(key)).get('/v1/ping');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(during.status).toBe(200);
    const ready = await api(instance).get('/health/ready').expect(503);
    expect(ready.body.details.redis.status).toBe('down');
    expect(ready.body.details.postgres.status).toBe('up');
    const metrics = (await api(instance).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/admission_decisions_total\{outcome="failed_open"\} [1-9]/);

    await node.resume();
    await cluster.ready();
    await eventually(() => api(instance).get('/health/ready').expect(200), { timeoutMs: 10_000 });
    // The master came back empty (no persistence here): the key has its full limit again, enforced.
    const recovered: number[] = [];
    for (let i = 0; i < 4; i++) {
      recovered.push((await api(instance, withKey(key)).get('/v1/ping')).status);
    }
    expect(recovered).toEqual([200, 200, 200, 429]);
  });
});
