import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/configuration';
import { AuthRedisCircuit } from './auth-redis-circuit';

/** Failed logins per email are counted in fixed windows of this length. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;
/** At most this many emails are tracked in process memory (the least recently used go first). */
const IN_MEMORY_MAX_EMAILS = 100_000;

export type LoginAttempt = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Whole seconds a client should wait, never 0 (a `Retry-After: 0` invites an immediate retry). */
export function retryAfterSeconds(msLeft: number): number {
  return Math.max(1, Math.ceil(msLeft / 1000));
}

/** Redis key of one email's counter: a hash, so that no email address is ever stored in Redis. */
export function loginFailureKey(email: string): string {
  const normalised = email.trim().toLowerCase();
  return `login-failures:${createHash('sha256').update(normalised).digest('hex')}`;
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
    maxKeys = IN_MEMORY_MAX_EMAILS,
    private readonly now: () => number = Date.now,
  ) {
    this.windows = new LRUCache({ max: maxKeys });
  }

  /** Takes one unit unless `limit` are taken already in the current window. */
  take(key: string, limit: number): { allowed: boolean; msLeft: number } {
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
 * KEYS[1] the counter, ARGV[1] the limit, ARGV[2] the window in ms. Takes one attempt unless the
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
 * Counts failed logins per email: `LOGIN_FAILURES_PER_EMAIL` in a fixed 15-minute window, then 429
 * until the window ends, whatever the password. The counter is shared through Redis when there is
 * one (every instance sees the same count), in process memory otherwise.
 *
 * An attempt is counted as a failure when it starts (`beginAttempt`, one Redis round trip that also
 * decides whether it may go on) and the count is cleared when it succeeds (`recordSuccess`). So a
 * burst of concurrent guesses gets exactly the limit through, never more, while successful logins
 * never count against the email. Redis trouble falls back to process memory (see AuthRedisCircuit).
 */
@Injectable()
export class LoginFailureTracker {
  private readonly memory = new InMemoryFixedWindows(LOGIN_FAILURE_WINDOW_MS);

  constructor(
    private readonly circuit: AuthRedisCircuit,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  private get limit(): number {
    return this.config.get('auth', { infer: true }).loginFailuresPerEmail;
  }

  async beginAttempt(email: string): Promise<LoginAttempt> {
    const key = loginFailureKey(email);
    const limit = this.limit;
    const { allowed, msLeft } = await this.circuit.run(
      'email',
      (redis) => this.takeOnRedis(redis, key, limit),
      () => this.memory.take(key, limit),
    );
    return allowed
      ? { allowed: true }
      : { allowed: false, retryAfterSeconds: retryAfterSeconds(msLeft) };
  }

  async recordSuccess(email: string): Promise<void> {
    const key = loginFailureKey(email);
    this.memory.reset(key);
    await this.circuit.run(
      'email',
      async (redis) => void (await redis.del(key)),
      () => undefined,
    );
  }

  private async takeOnRedis(
    redis: Redis,
    key: string,
    limit: number,
  ): Promise<{ allowed: boolean; msLeft: number }> {
    const args = [1, key, limit, LOGIN_FAILURE_WINDOW_MS] as const;
    const reply = (await redis.evalsha(TAKE_SCRIPT_SHA, ...args).catch((error: Error) => {
      if (!error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(TAKE_SCRIPT, ...args);
    })) as [number, number];
    return { allowed: Number(reply[0]) === 1, msLeft: Number(reply[1]) };
  }
}
