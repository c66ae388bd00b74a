import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RedisConnection } from '../redis/redis.module';
import { CircuitUser, RedisCircuit } from './redis-circuit';

/** Whole seconds a client should wait, never 0 (a `Retry-After: 0` invites an immediate retry). */
export function retryAfterSeconds(msLeft: number): number {
  return Math.max(1, Math.ceil(msLeft / 1000));
}

export interface WindowTake {
  allowed: boolean;
  /** Milliseconds until the current window ends. */
  msLeft: number;
}

interface Window {
  count: number;
  resetAt: number;
}

/** Fixed-window counters in process memory: the embedded mode, and the fallback while Redis is out. */
export class InMemoryFixedWindows {
  private readonly windows: LRUCache<string, Window>;

  constructor(
    private readonly windowMs: number,
    maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.windows = new LRUCache({ max: maxKeys });
  }

  /** Takes one unit unless `limit` are taken already in the current window. */
  take(key: string, limit: number): WindowTake {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    const msLeft = window.resetAt - now;
    if (window.count >= limit) return { allowed: false, msLeft };
    window.count++;
    return { allowed: true, msLeft };
  }

  reset(key: string): void {
    this.windows.delete(key);
  }
}

/**
 * KEYS[1] the counter, ARGV[1] the limit, ARGV[2] the window in ms. Takes one unit unless the
 * limit is reached; answers {allowed 0|1, ms left in the window}. A counter without expiry is not
 * trusted (it would block forever): it starts a new window.
 */
const TAKE_SCRIPT = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
  return {1, tonumber(ARGV[2])}
end
if tonumber(redis.call('GET', KEYS[1])) >= tonumber(ARGV[1]) then
  return {0, ttl}
end
redis.call('INCR', KEYS[1])
return {1, ttl}
`;
const TAKE_SCRIPT_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

/**
 * A best-effort fixed-window counter (failed logins per email, failed API keys per address):
 * shared through Redis when there is one, so every instance sees one count; in process memory
 * otherwise, and whenever Redis cannot answer (see RedisCircuit). Each take is one round trip
 * that also decides, so a burst of concurrent attempts gets exactly `limit` through.
 */
export class FixedWindowCounter {
  private readonly memory: InMemoryFixedWindows;

  constructor(
    private readonly circuit: RedisCircuit,
    private readonly name: CircuitUser,
    private readonly windowMs: number,
  ) {
    this.memory = new InMemoryFixedWindows(windowMs);
  }

  take(key: string, limit: number): Promise<WindowTake> {
    return this.circuit.run(
      this.name,
      (redis) => this.takeOnRedis(redis, key, limit),
      () => this.memory.take(key, limit),
    );
  }

  async reset(key: string): Promise<void> {
    this.memory.reset(key);
    await this.circuit.run(
      this.name,
      async (redis) => void (await redis.del(key)),
      () => undefined,
    );
  }

  private async takeOnRedis(
    redis: RedisConnection,
    key: string,
    limit: number,
  ): Promise<WindowTake> {
    const args = [1, key, limit, this.windowMs] as const;
    const reply = (await redis.evalsha(TAKE_SCRIPT_SHA, ...args).catch((error: Error) => {
      if (!error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(TAKE_SCRIPT, ...args);
    })) as [number, number];
    return { allowed: Number(reply[0]) === 1, msLeft: Number(reply[1]) };
  }
}
