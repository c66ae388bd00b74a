import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { LRUCache } from 'lru-cache';
import { MetricsService } from '../metrics/metrics.service';
import { OrgPlanChangedEvent } from '../orgs/orgs.events';
import { ChannelSubscription, RedisPubSub } from '../redis/redis-pubsub';
import { VerifiedApiKey } from './api-key-call';
import { hashApiKey, isWellFormedApiKey } from './api-key-format';
import { ApiKeysRepository, KeyCredentialRow } from './api-keys.repository';

export type KeyCheck =
  { status: 'valid'; key: VerifiedApiKey } | { status: 'not_found' | 'revoked' | 'expired' };

interface CachedCredential {
  key: VerifiedApiKey;
  expiresAt: number | null;
  revokedAt: number | null;
}

type Invalidation = { hash: string } | { orgId: string } | { all: true };

const NOT_FOUND = 'not_found' as const;
const CHANNEL = 'api-keys:invalidate';

/**
 * Verifies presented keys without a database read per request: credentials are cached in
 * process (bounded LRU) and dropped on every instance when a key is revoked or rotated, through
 * Redis pub/sub. While this instance is not subscribed (Redis down or reconnecting) it could miss
 * an invalidation, so it reads through to Postgres instead of trusting the cache.
 */
@Injectable()
export class ApiKeyVerifier implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ApiKeyVerifier.name);
  private readonly cache = new LRUCache<string, CachedCredential | typeof NOT_FOUND>({
    max: 50_000,
    ttl: 60_000,
  });
  private subscription: ChannelSubscription | null = null;
  private subscribed = false;
  /** Bumped by every invalidation: a look-up that raced one does not cache what it read. */
  private generation = 0;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly pubsub: RedisPubSub,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.subscription = this.pubsub.subscribe(CHANNEL, {
      onSubscribed: () => {
        // Whatever happened while unsubscribed is unknown: start from Postgres again, and so must
        // a look-up still running from before (it may have read a key revoked since).
        this.generation++;
        this.cache.clear();
        this.subscribed = true;
        this.metrics.apiKeyCacheSubscribed.set(1);
      },
      onLost: () => {
        this.subscribed = false;
        this.metrics.apiKeyCacheSubscribed.set(0);
      },
      onMessage: (message) => this.applyInvalidation(message),
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.close();
  }

  /** Checks a presented key: format and checksum first (no I/O), then its stored state. */
  async check(presented: string | undefined, now = Date.now()): Promise<KeyCheck> {
    if (!presented || !isWellFormedApiKey(presented)) return { status: 'not_found' };
    const hash = hashApiKey(presented);
    const credential = await this.lookup(hash);
    if (credential === NOT_FOUND) return { status: 'not_found' };
    if (credential.revokedAt !== null && credential.revokedAt <= now) return { status: 'revoked' };
    if (credential.expiresAt !== null && credential.expiresAt <= now) return { status: 'expired' };
    return { status: 'valid', key: credential.key };
  }

  private async lookup(hash: string): Promise<CachedCredential | typeof NOT_FOUND> {
    // Without a shared Redis there is no other instance whose revocations could be missed.
    const trustCache = !this.pubsub.enabled || this.subscribed;
    if (trustCache) {
      const cached = this.cache.get(hash);
      if (cached) {
        this.metrics.apiKeyCacheLookups.inc({ result: 'hit' });
        return cached;
      }
    }
    this.metrics.apiKeyCacheLookups.inc({ result: trustCache ? 'miss' : 'bypass' });
    const generation = this.generation;
    const row = await this.keys.findCredentialByHash(hash);
    const credential = row ? toCredential(row) : NOT_FOUND;
    if (generation === this.generation) {
      // Unknown keys are remembered briefly too, so a flood of well-formed fakes stays off Postgres.
      this.cache.set(hash, credential, credential === NOT_FOUND ? { ttl: 10_000 } : undefined);
    }
    return credential;
  }

  /** Cached credentials carry the org's plan: a move to another plan must reach every instance. */
  @OnEvent(OrgPlanChangedEvent.event, { promisify: true })
  onOrgPlanChanged(event: OrgPlanChangedEvent): Promise<void> {
    return this.invalidate({ orgId: event.orgId });
  }

  /** Drops cached credentials here and on every other instance. */
  async invalidate(target: Invalidation): Promise<void> {
    this.applyInvalidation(JSON.stringify(target));
    await this.pubsub.publish(CHANNEL, JSON.stringify(target)).catch((error: Error) => {
      this.logger.warn(
        `Key invalidation not published (${error.message}); other instances read through until resubscribed`,
      );
    });
  }

  private applyInvalidation(message: string): void {
    let target: Invalidation;
    try {
      target = JSON.parse(message) as Invalidation;
    } catch {
      return;
    }
    this.generation++;
    if ('hash' in target) this.cache.delete(target.hash);
    else if ('orgId' in target) {
      for (const [hash, credential] of this.cache.entries()) {
        if (credential !== NOT_FOUND && credential.key.orgId === target.orgId)
          this.cache.delete(hash);
      }
    } else this.cache.clear();
  }
}

function toCredential(row: KeyCredentialRow): CachedCredential {
  return {
    key: {
      id: row.id,
      orgId: row.orgId,
      scopes: row.scopes,
      planCode: row.planCode,
      ownRateLimit:
        row.rateLimit !== null && row.rateLimitPeriodSeconds !== null
          ? { limit: row.rateLimit, periodSeconds: row.rateLimitPeriodSeconds }
          : null,
    },
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    revokedAt: row.revokedAt ? row.revokedAt.getTime() : null,
  };
}
