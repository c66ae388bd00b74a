import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/configuration';
import { FixedWindowCounter } from '../limits/fixed-window';
import { RedisCircuit } from '../limits/redis-circuit';

const WINDOW_MS = 60_000;

/**
 * Failed key look-ups (missing, unknown, revoked, expired) per client address:
 * `API_KEY_FAILURES_PER_IP` a minute, then every request from that address is refused before any
 * look-up until the minute ends. The count is shared through Redis; the block is kept in process
 * memory, so that checking it costs valid traffic no round trip (each instance blocks an address
 * at its first failure past the limit).
 */
@Injectable()
export class ApiKeyFailureLimiter {
  private readonly failures: FixedWindowCounter;
  private readonly blockedUntil = new LRUCache<string, number>({ max: 100_000 });
  private readonly limit: number;

  constructor(circuit: RedisCircuit, config: ConfigService<AppConfig, true>) {
    this.failures = new FixedWindowCounter(circuit, 'api_key_ip', WINDOW_MS);
    this.limit = config.get('limits', { infer: true }).apiKeyFailuresPerIp;
  }

  /** Seconds `address` is still blocked for; 0 when it is not. */
  blockedSeconds(address: string, now = Date.now()): number {
    const until = this.blockedUntil.get(address);
    return until !== undefined && until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  async recordFailure(address: string): Promise<void> {
    const key = `api-key-failures:${createHash('sha256').update(address).digest('hex')}`;
    const { allowed, msLeft } = await this.failures.take(key, this.limit);
    if (!allowed) this.blockedUntil.set(address, Date.now() + msLeft);
  }
}
