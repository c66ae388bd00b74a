import { Injectable, InternalServerErrorException } from '@nestjs/common';
import { ApiKeyCall, VerifiedApiKey } from '../api-keys/api-key-call';
import { CatalogueCache } from '../catalogue/catalogue-cache';
import { Plan } from '../catalogue/catalogue.types';
import { periodOf } from '../common/period';
import { LimiterService, LimitSubject, QuotaCharge, RateState } from '../limits/limiter.service';
import { LimitsError } from '../limits/limits.errors';
import { quotaAmount, ValidEvent } from './event-validation';

/** What was decided for one call: its rate-limit figures and what it reserved of each quota. */
export type Admission = {
  rate: RateState;
  charges: QuotaCharge[];
} & (
  | {
      outcome: 'admitted';
      /** Each charge's usage after this call; null: the quotas are decided when writing. */
      usedAfter: number[] | null;
    }
  | { outcome: 'rate_limited'; retryAfterSeconds: number }
  | { outcome: 'quota_exceeded'; exceeded: QuotaCharge; used: number; retryAfterSeconds: number }
);

export type Admitted = Admission & { outcome: 'admitted' };

/**
 * The one admission of a `/v1` call: a unit from the org's plan bucket (shared by all its keys)
 * and from the key's own bucket if it has one, and the hard quotas of the usage it brings, decided
 * together in one limiter call (one Redis round trip). Each call is admitted once; the decision is
 * kept against the call, for the guard that has the RateLimit headers written and for the write
 * that settles the quota reservations.
 */
@Injectable()
export class AdmissionService {
  private readonly decisions = new WeakMap<ApiKeyCall, Admission>();
  /**
   * Who pays for a key's calls under its org's plan, built once per cached key and plan object
   * (both are replaced, not changed, when they change) rather than on every call.
   */
  private readonly subjects = new WeakMap<VerifiedApiKey, { plan: Plan; subject: LimitSubject }>();

  constructor(
    private readonly limiter: LimiterService,
    private readonly catalogue: CatalogueCache,
  ) {}

  /** The call's admission, once decided. */
  of(call: ApiKeyCall): Admission | undefined {
    return this.decisions.get(call);
  }

  async admit(call: ApiKeyCall, usage: ValidEvent[] = []): Promise<Admission> {
    if (this.decisions.has(call))
      throw new InternalServerErrorException('A /v1 call was admitted twice');
    const { key } = call;
    const plan = await this.catalogue.plan(key.planCode);
    if (!plan) throw new InternalServerErrorException(`The org's plan ${key.planCode} is missing`);
    const charges = chargesFor(plan, usage);
    const decision = await this.limiter.decide(this.subjectOf(key, plan), 1, charges);
    const admission: Admission =
      decision.outcome === 'quota_exceeded'
        ? { ...decision, charges, exceeded: charges[decision.index] }
        : decision.outcome === 'admitted'
          ? { outcome: 'admitted', rate: decision.rate, charges, usedAfter: decision.usedAfter }
          : { ...decision, charges };
    this.decisions.set(call, admission);
    return admission;
  }

  private subjectOf(key: VerifiedApiKey, plan: Plan): LimitSubject {
    const known = this.subjects.get(key);
    if (known?.plan === plan) return known.subject;
    const buckets = [{ name: 'org', limit: plan.rateLimit }];
    if (key.ownRateLimit) buckets.push({ name: `key:${key.id}`, limit: key.ownRateLimit });
    const subject = { orgId: key.orgId, buckets };
    this.subjects.set(key, { plan, subject });
    return subject;
  }

  /** Admits the call, or throws its refusal: 429 `rate_limited` or `quota_exceeded`. */
  async require(call: ApiKeyCall, usage: ValidEvent[] = []): Promise<Admitted> {
    const admission = await this.admit(call, usage);
    throwUnlessAdmitted(admission);
    return admission;
  }
}

export function throwUnlessAdmitted(admission: Admission): asserts admission is Admitted {
  if (admission.outcome === 'rate_limited') {
    throw new LimitsError('rate_limited', 'Rate limit exceeded for this API key', {
      retryAfterSeconds: admission.retryAfterSeconds,
    });
  }
  if (admission.outcome === 'quota_exceeded') {
    throw new LimitsError(
      'quota_exceeded',
      `The monthly quota of ${admission.exceeded.meter} is used up for this period`,
      { retryAfterSeconds: admission.retryAfterSeconds },
    );
  }
}

/** Each plan's hard quotas (meter → included), once per plan object rather than once per call. */
const hardQuotas = new WeakMap<Pick<Plan, 'meters'>, ReadonlyMap<string, number>>();

function hardQuotasOf(plan: Pick<Plan, 'meters'>): ReadonlyMap<string, number> {
  let hard = hardQuotas.get(plan);
  if (!hard) {
    hard = new Map(
      plan.meters.filter((m) => m.enforcement === 'hard').map((m) => [m.meter, m.included]),
    );
    hardQuotas.set(plan, hard);
  }
  return hard;
}

/** What `events` take from each hard quota of the plan, per meter and month. */
export function chargesFor(plan: Pick<Plan, 'meters'>, events: ValidEvent[]): QuotaCharge[] {
  if (events.length === 0) return [];
  const hard = hardQuotasOf(plan);
  if (hard.size === 0) return [];
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
      const measure = event.meter.aggregation === 'sum' ? 'sum' : 'count';
      charges.set(id, { meter: event.meter.slug, period, amount, included, measure });
    }
  }
  return [...charges.values()];
}
