import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisCircuit } from './redis-circuit';

/** A slot held until released; it lapses by itself if its holder dies without releasing it. */
export interface Lease {
  release(): Promise<void>;
}

/**
 * KEYS[1] the holders (a sorted set scored by lapse time); ARGV: ttl ms, max, holder id. Drops the
 * lapsed holders, then takes a slot unless `max` are held. Redis' own clock, the same for every
 * instance.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`;

/**
 * "At most N at once" across every instance (exports per org): slots are leases in Redis, renewed
 * while held, so that a crashed holder frees its slot within the lease time. Without Redis (or
 * while it is out) the count is kept per instance.
 */
@Injectable()
export class LeaseLimiter {
  private readonly local = new Map<string, Set<string>>();

  constructor(private readonly circuit: RedisCircuit) {}

  /** A lease on one of `max` slots of `key`, or null when all are held. */
  async acquire(key: string, max: number, ttlMs = 30_000): Promise<Lease | null> {
    const holder = randomUUID();
    const onRedis = await this.circuit.run(
      'leases',
      async (redis) => Number(await redis.eval(ACQUIRE, 1, key, ttlMs, max, holder)) === 1,
      () => null,
    );
    if (onRedis === null) return this.acquireLocally(key, max, holder);
    if (!onRedis) return null;
    const renew = setInterval(() => void this.renew(key, holder, ttlMs), ttlMs / 3);
    renew.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        await this.circuit.run(
          'leases',
          (redis) => redis.zrem(key, holder),
          () => 0,
        );
      },
    };
  }

  private renew(key: string, holder: string, ttlMs: number): Promise<unknown> {
    return this.circuit.run(
      'leases',
      (redis) => redis.eval(RENEW, 1, key, ttlMs, holder),
      () => 0,
    );
  }

  private acquireLocally(key: string, max: number, holder: string): Lease | null {
    const holders = this.local.get(key) ?? new Set<string>();
    if (holders.size >= max) return null;
    holders.add(holder);
    this.local.set(key, holders);
    return {
      release: async () => {
        holders.delete(holder);
        if (holders.size === 0) this.local.delete(key);
      },
    };
  }
}
