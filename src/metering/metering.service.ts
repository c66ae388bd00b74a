import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
} from '@nestjs/common';
import { Response } from 'express';
import { VerifiedApiKey } from '../api-keys/api-key-verifier.service';
import { Meter, Plan } from '../catalogue/catalogue.types';
import { setRateLimitHeaders } from '../rate-limit/rate-limit-headers';
import { rateLimited, takeLimitsDecision } from '../rate-limit/rate-limit.guard';
import { QuotaCharge, RateDecision, RateLimiterService } from '../rate-limit/rate-limiter.service';
import { REDIS, RedisClient } from '../redis/redis.module';
import { CatalogueCache } from './catalogue-cache';
import {
  groupKey,
  periodOf,
  quotaAmount,
  validateEventBatch,
  ValidEvent,
} from './event-validation';
import { EventRow, UsageEventsRepository } from './usage-events.repository';
import { UsageWriter } from './usage-writer.service';

export type Admission =
  | { outcome: 'rate_limited'; rate: RateDecision }
  | { outcome: 'quota_exceeded'; rate: RateDecision; charge: QuotaCharge; used: number }
  | { outcome: 'admitted'; rate: RateDecision; charges: QuotaCharge[]; usedAfter: number[] | null };

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

const DAY_MS = 24 * 3600_000;

function nextPeriodStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Seconds until the next calendar month (UTC) begins: when a hard quota opens again. */
export function secondsToNextPeriod(now = Date.now()): number {
  return Math.max(1, Math.ceil((nextPeriodStart(now) - now) / 1000));
}

export const quotaExceeded = (meter: string) =>
  new HttpException(
    { code: 'quota_exceeded', message: `The monthly quota of ${meter} is used up for this period` },
    HttpStatus.TOO_MANY_REQUESTS,
  );

/**
 * Usage in: validation, rate limit and hard quotas decided together (one Redis round trip), then
 * the durable write. A hard quota is reserved before the write and the reservation is given back
 * for what did not count (duplicates, a failed write), so usage never ends above `included`.
 */
@Injectable()
export class MeteringService implements OnModuleInit {
  private readonly logger = new Logger(MeteringService.name);
  /** Quota counters decided against Postgres while Redis was away: stale in Redis when it returns. */
  private readonly staleCounters = new Map<
    string,
    { orgId: string; meter: string; period: string }
  >();

  constructor(
    private readonly catalogue: CatalogueCache,
    private readonly limiter: RateLimiterService,
    private readonly writer: UsageWriter,
    private readonly events: UsageEventsRepository,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  onModuleInit(): void {
    this.redis?.on('ready', () => {
      const stale = [...this.staleCounters.values()];
      this.staleCounters.clear();
      this.limiter.forgetQuotas(stale).catch((error: Error) => {
        this.logger.warn(`Stale quota counters not cleared: ${error.message}`);
        stale.forEach((s) => this.staleCounters.set(`${s.orgId}:${s.meter}:${s.period}`, s));
      });
    });
  }

  meters(): Promise<Map<string, Meter>> {
    return this.catalogue.meterMap();
  }

  /** `POST /v1/events`: one request, one rate-limit unit, every hard quota its events touch. */
  async ingest(key: VerifiedApiKey, body: unknown, response: Response): Promise<IngestResult> {
    const validation = validateEventBatch(body, await this.catalogue.meterMap(), Date.now());
    if ('problems' in validation) {
      throw new BadRequestException({ code: 'validation_failed', message: validation.problems });
    }
    // The first of several events with one id wins; the rest are duplicates.
    const seen = new Set<string>();
    const unique = validation.events.filter((e) => !seen.has(e.id) && seen.add(e.id));
    const admission = await this.admit(key, unique, 1);
    throwUnlessAdmitted(admission, response);
    const fresh = await this.commit(key, admission, unique);
    const accepted = fresh.filter(Boolean).length;
    return { accepted, duplicates: validation.events.length - accepted };
  }

  /** Rate limit and hard quotas for `events`, decided in one step. Sets no headers. */
  async admit(
    key: VerifiedApiKey,
    events: ValidEvent[],
    cost: number,
    response?: Response,
  ): Promise<Admission> {
    const charges = chargesFor(await this.catalogue.plan(key.planCode), events);
    const decision = await takeLimitsDecision(
      this.limiter,
      key,
      cost,
      charges,
      response,
      (charge) =>
        this.events.usedInPeriod(
          key.orgId,
          charge.meter,
          charge.period,
          aggregationOf(events, charge.meter),
        ),
    );
    if (!decision.rate.allowed) return { outcome: 'rate_limited', rate: decision.rate };
    if (decision.quota.status === 'exceeded') {
      return {
        outcome: 'quota_exceeded',
        rate: decision.rate,
        charge: charges[decision.quota.index],
        used: decision.quota.used,
      };
    }
    const usedAfter = decision.quota.status === 'ok' ? decision.quota.usedAfter : null;
    return { outcome: 'admitted', rate: decision.rate, charges, usedAfter };
  }

  /**
   * Writes admitted events durably; answers, per event, whether it was new. When the quota could
   * not be decided on Redis it is decided here against Postgres, exactly, before writing.
   */
  async commit(
    key: VerifiedApiKey,
    admission: Admission & { outcome: 'admitted' },
    events: ValidEvent[],
  ): Promise<boolean[]> {
    const rows = events.map((e) => toRow(key, e));
    if (admission.usedAfter === null && admission.charges.length > 0) {
      for (const c of admission.charges)
        this.staleCounters.set(`${key.orgId}:${c.meter}:${c.period}`, { orgId: key.orgId, ...c });
      return this.writer.writeWithQuotaLocks(
        rows,
        admission.charges.map((c) => ({
          orgId: key.orgId,
          meter: c.meter,
          period: c.period,
          aggregation: aggregationOf(events, c.meter),
        })),
        (used) => {
          const over = admission.charges.findIndex((c, i) => used[i] + c.amount > c.included);
          if (over >= 0) throw quotaExceeded(admission.charges[over].meter);
        },
      );
    }
    let fresh: boolean[];
    try {
      fresh = await this.writer.write(rows);
    } catch (error) {
      await this.limiter.refund(key.orgId, admission.charges);
      throw error;
    }
    const unused = unusedCharges(
      admission.charges,
      events.filter((_, i) => !fresh[i]),
    );
    if (unused.length) await this.limiter.refund(key.orgId, unused);
    return fresh;
  }
}

/** 429 for a refusal, with the rate-limit headers and `Retry-After`. */
export function throwUnlessAdmitted(
  admission: Admission,
  response: Response,
): asserts admission is Admission & { outcome: 'admitted' } {
  setRateLimitHeaders(response, admission.rate);
  if (admission.outcome === 'rate_limited') throw rateLimited();
  if (admission.outcome === 'quota_exceeded') {
    response.setHeader('Retry-After', String(secondsToNextPeriod()));
    throw quotaExceeded(admission.charge.meter);
  }
}

function aggregationOf(events: ValidEvent[], meter: string): 'count' | 'sum' {
  return events.find((e) => e.meter.slug === meter)?.meter.aggregation === 'sum' ? 'sum' : 'count';
}

/** What `events` take from each hard quota of the plan, per meter and month. */
export function chargesFor(
  plan: Pick<Plan, 'meters'> | null,
  events: ValidEvent[],
  now = Date.now(),
): QuotaCharge[] {
  if (!plan) return [];
  const hard = new Map(
    plan.meters.filter((m) => m.enforcement === 'hard').map((m) => [m.meter, m.included]),
  );
  const charges = new Map<string, QuotaCharge>();
  for (const event of events) {
    const included = hard.get(event.meter.slug);
    const amount = quotaAmount(event);
    if (included === undefined || amount === 0) continue;
    const period = periodOf(event.time);
    const id = `${event.meter.slug}:${period}`;
    const charge = charges.get(id);
    if (charge) charge.amount += amount;
    else {
      const periodEnd = Date.UTC(event.time.getUTCFullYear(), event.time.getUTCMonth() + 1, 1);
      charges.set(id, {
        meter: event.meter.slug,
        period,
        amount,
        included,
        ttlMs: periodEnd + 36 * DAY_MS - now,
      });
    }
  }
  return [...charges.values()];
}

/** The part of `charges` that `events` (duplicates) had reserved and did not use. */
function unusedCharges(charges: QuotaCharge[], events: ValidEvent[]): QuotaCharge[] {
  const byId = new Map(charges.map((c) => [`${c.meter}:${c.period}`, { ...c, amount: 0 }]));
  for (const event of events) {
    const charge = byId.get(`${event.meter.slug}:${periodOf(event.time)}`);
    if (charge) charge.amount += quotaAmount(event);
  }
  return [...byId.values()].filter((c) => c.amount > 0);
}

function toRow(key: VerifiedApiKey, event: ValidEvent): EventRow {
  return {
    orgId: key.orgId,
    apiKeyId: key.id,
    eventId: event.id,
    meter: event.meter.slug,
    time: event.time,
    subject: event.subject,
    value: event.value,
    data: event.data,
    groupKey: groupKey(event.groupValues),
    groupValues: event.groupValues,
  };
}
