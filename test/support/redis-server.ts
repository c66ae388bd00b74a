import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster, RedisOptions } from 'ioredis';
import { parseClusterNodes } from '../../src/config/env.validation';
import { connectRedis, createRedisClient, RedisConnection } from '../../src/redis/redis.module';

/**
 * The Redis the suite shares: one server (`REDIS_URL`) or a Cluster (`REDIS_CLUSTER_NODES`,
 * `host:port,...`), as the app reads them; neither in the embedded mode.
 */
export const SHARED_REDIS = {
  url: process.env.REDIS_URL || undefined,
  clusterNodes: process.env.REDIS_CLUSTER_NODES
    ? (parseClusterNodes(process.env.REDIS_CLUSTER_NODES) ?? [])
    : [],
};

/** Whether the suite runs against a shared Redis (server or Cluster): always on CI. */
export const hasSharedRedis = Boolean(SHARED_REDIS.url || SHARED_REDIS.clusterNodes.length);

/** Tests that need a real Redis run when one is shared (always on CI); the embedded mode has none. */
export const describeWithRedis: jest.Describe = hasSharedRedis ? describe : describe.skip;

/** A client of the shared Redis, connected, as the app makes it (keys under `keyPrefix`). */
export async function connectSharedRedis(keyPrefix = ''): Promise<RedisConnection> {
  const redis = createRedisClient({ ...SHARED_REDIS, keyPrefix });
  await connectRedis(redis);
  return redis;
}

/** Runs `fn` with a client of the shared Redis (server or Cluster), and disconnects it afterwards. */
export async function withSharedRedis<T>(
  fn: (redis: RedisConnection) => Promise<T>,
  keyPrefix = '',
): Promise<T> {
  const redis = await connectSharedRedis(keyPrefix);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** The servers holding the data: the one server, or each master of the Cluster. */
const dataNodes = (redis: RedisConnection): Redis[] =>
  redis instanceof Cluster ? redis.nodes('master') : [redis];

/** Every key of the shared Redis matching `pattern` (KEYS on each master of a Cluster). */
export function sharedRedisKeys(pattern: string): Promise<string[]> {
  return withSharedRedis(async (redis) =>
    (await Promise.all(dataNodes(redis).map((node) => node.keys(pattern)))).flat(),
  );
}

/** Deletes the keys of the shared Redis matching `pattern` (one DEL each: they span slots). */
export function deleteSharedRedisKeys(pattern: string): Promise<void> {
  return withSharedRedis(async (redis) => {
    await Promise.all(
      dataNodes(redis).map(async (node) => {
        const keys = await node.keys(pattern);
        await Promise.all(keys.map((key) => node.del(key)));
      }),
    );
  });
}

/** SCRIPT FLUSH on every server of the shared Redis, as if it had restarted. */
export function flushSharedRedisScripts(): Promise<void> {
  return withSharedRedis(async (redis) => {
    await Promise.all(dataNodes(redis).map((node) => node.script('FLUSH')));
  });
}

/** A TCP port free on the loopback interface right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A Redis of the test's own, on a free port, that the test may stop and start again. */
export class DisposableRedis {
  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<DisposableRedis> {
    const redis = new DisposableRedis(await freePort(), extraArgs);
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server again (no-op while it runs). */
  async resume(): Promise<void> {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', ''];
    const child = spawn('redis-server', [...args, '--appendonly', 'no', ...this.extraArgs], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start: ${output}`)),
        5000,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
    child.stdout!.resume();
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

const CLUSTER_SLOTS = 16_384;

/**
 * A Redis Cluster of the test's own: `masters` servers on free ports (no replicas), each holding
 * an even share of the slots, its cluster state in a temporary folder so that a stopped node
 * rejoins with its slots when resumed. For tests of what a Cluster changes (a node going away);
 * the suite as a whole runs on a Cluster when `REDIS_CLUSTER_NODES` is set.
 */
export class DisposableRedisCluster {
  private constructor(
    readonly nodes: DisposableRedis[],
    private readonly dir: string,
  ) {}

  static async start(masters = 3): Promise<DisposableRedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
    const nodes: DisposableRedis[] = [];
    for (let i = 0; i < masters; i++) {
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`];
      args.push('--dir', dir, '--cluster-node-timeout', '2000');
      nodes.push(await DisposableRedis.start(args));
    }
    const cluster = new DisposableRedisCluster(nodes, dir);
    await cluster.assignSlots();
    return cluster;
  }

  /** `REDIS_CLUSTER_NODES` for an app on this cluster. */
  get nodesEnv(): string {
    return this.addresses.map(({ host, port }) => `${host}:${port}`).join(',');
  }

  get addresses(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** The node that holds `key` (its hash slot). */
  async nodeOf(key: string): Promise<DisposableRedis> {
    const slot = Number(await this.on(this.nodes[0], (r) => r.cluster('KEYSLOT', key)));
    return this.nodes[Math.floor(slot / this.share)];
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Waits until every node reports `cluster_state:ok` (after a start, or a node's return). */
  async ready(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        this.nodes.map((n) =>
          this.on(n, async (r) => /cluster_state:ok/.test(await r.cluster('INFO'))).catch(
            () => false,
          ),
        ),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Slots per node: node i holds [i × share, (i + 1) × share). */
  private get share(): number {
    return Math.ceil(CLUSTER_SLOTS / this.nodes.length);
  }

  private async assignSlots(): Promise<void> {
    const share = this.share;
    await Promise.all(
      this.nodes.map((node, i) =>
        this.on(node, async (r) => {
          const last = Math.min(CLUSTER_SLOTS, (i + 1) * share) - 1;
          await r.call('CLUSTER', 'ADDSLOTSRANGE', String(i * share), String(last));
          await r.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1));
          for (const other of this.nodes)
            if (other !== node) await r.call('CLUSTER', 'MEET', '127.0.0.1', String(other.port));
        }),
      ),
    );
    await this.ready();
  }

  private async on<T>(node: DisposableRedis, fn: (redis: Redis) => Promise<T>): Promise<T> {
    return withRedis(node.url, fn, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  }
}

/** Runs `fn` with a Redis client of its own on `url`, and disconnects it afterwards. */
export async function withRedis<T>(
  url: string,
  fn: (redis: Redis) => Promise<T>,
  options: RedisOptions = {},
): Promise<T> {
  const redis = new Redis(url, options);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
