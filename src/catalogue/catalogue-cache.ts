import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Meter, Plan } from './catalogue.types';
import { MetersRepository } from './meters.repository';
import { PlansRepository } from './plans.repository';

/** The catalogue changes rarely (platform admins); the request path reads it from here. */
const TTL_MS = 5_000;

/**
 * Meters and plans for the request path, cached in process for a few seconds: an admin's change
 * reaches every instance within that time without a read per request.
 */
@Injectable()
export class CatalogueCache {
  private readonly cache = new LRUCache<string, { value: unknown }>({ max: 1_000, ttl: TTL_MS });

  constructor(
    private readonly meters: MetersRepository,
    private readonly plans: PlansRepository,
  ) {}

  meterMap(): Promise<Map<string, Meter>> {
    return this.cached(
      'meters',
      async () => new Map((await this.meters.listAllMeters()).map((m) => [m.slug, m])),
    );
  }

  plan(code: string): Promise<Plan | null> {
    return this.cached(`plan:${code}`, () => this.plans.findPlan(code));
  }

  /** After a change made here: this instance sees it at once (others within the TTL). */
  clear(): void {
    this.cache.clear();
  }

  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit) return hit.value as T;
    const value = await load();
    this.cache.set(key, { value });
    return value;
  }
}
