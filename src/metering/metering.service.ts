import { Injectable, InternalServerErrorException, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { ApiKeyCall, VerifiedApiKey } from '../api-keys/api-key-call';
import { CatalogueCache } from '../catalogue/catalogue-cache';
import { Meter } from '../catalogue/catalogue.types';
import { validationFailed } from '../common/domain-error';
import { currentPeriod, periodOf } from '../common/period';
import { LimiterService, QuotaCharge } from '../limits/limiter.service';
import { QuotaFallback } from '../limits/quota-fallback.service';
import { MetricsService } from '../metrics/metrics.service';
import { AdmissionService, Admitted } from './admission.service';
import {
  EventFormat,
  EventProblem,
  groupKey,
  quotaAmount,
  validateEventBatch,
  ValidEvent,
} from './event-validation';
import { eventsForCall } from './metered-events';
import { ClosedPeriodsRepository } from './closed-periods.repository';
import { MeteringError, periodClosed } from './metering.errors';
import { EventRow } from './usage-events.repository';
import { UsageWriter } from './usage-writer.service';

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

/**
 * Usage in: validation, admission (rate limit and hard quotas in one decision), then the durable
 * write. A hard quota is reserved at admission and settled here: what did not count (duplicates,
 * a failed write) is given back, so usage never ends above `included`.
 */
@Injectable()
export class MeteringService {
  private readonly logger = new Logger(MeteringService.name);
  /** Calls whose reservation is settled (recorded or given back): settled once only. */
  private readonly settled = new WeakSet<ApiKeyCall>();
  /** What each call of a `@Metered` route was admitted with, until its handler records it. */
  private readonly meteredUsage = new WeakMap<ApiKeyCall, ValidEvent[]>();

  constructor(
    private readonly catalogue: CatalogueCache,
    private readonly admission: AdmissionService,
    private readonly limiter: LimiterService,
    private readonly fallback: QuotaFallback,
    private readonly writer: UsageWriter,
    private readonly closedPeriods: ClosedPeriodsRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** `POST /v1/events`: validated whole, admitted with every hard quota it touches, written. */
  async ingest(call: ApiKeyCall, body: unknown, format: EventFormat): Promise<IngestResult> {
    const meters = await this.catalogue.meterMap();
    const validation = validateEventBatch(body, meters, Date.now(), format);
    if ('problems' in validation) throw eventProblems(validation.problems);
    await this.refuseClosedPeriods(call.key.orgId, validation.events, validation.positions);
    // The first of several events with one id wins; the rest are duplicates.
    const seen = new Set<string>();
    const positions = new Map<ValidEvent, string>();
    const unique = validation.events.filter((e, i) => {
      positions.set(e, validation.positions[i]);
      return !seen.has(e.id) && seen.add(e.id);
    });
    await this.admission.require(call, unique);
    const fresh = await this.record(call, unique, positions);
    const accepted = fresh.filter(Boolean).length;
    return { accepted, duplicates: validation.events.length - accepted };
  }

  /**
   * The events standing for `cost` units of `meterSlug` used by one call, under a server-made id
   * (`idBase`, or a fresh one): a client header never names what is metered.
   */
  async usageOfCall(meterSlug: string, cost = 1, idBase?: string): Promise<ValidEvent[]> {
    const meter = await this.meter(meterSlug);
    if (!meter) throw new InternalServerErrorException(`@Metered names no meter "${meterSlug}"`);
    return eventsForCall(meter, cost, idBase ?? `call:${randomUUID()}`);
  }

  /** Admits a call of a `@Metered` route with the usage it stands for, or throws its refusal. */
  async admitMetered(call: ApiKeyCall, meterSlug: string, cost: number): Promise<void> {
    const usage = await this.usageOfCall(meterSlug, cost);
    await this.admission.require(call, usage);
    this.meteredUsage.set(call, usage);
  }

  /** Records the usage a `@Metered` route's call was admitted with: its handler's last step. */
  async recordCall(call: ApiKeyCall): Promise<void> {
    const usage = this.meteredUsage.get(call);
    if (!usage) throw new InternalServerErrorException('recordCall outside a @Metered route');
    this.meteredUsage.delete(call);
    await this.record(call, usage);
  }

  /**
   * A `/v1` call is answering with success: a `@Metered` handler that did not record its usage is
   * a bug, and its reservation must not stay taken from the quota. (Calls that fail are settled
   * by V1CallFilter.)
   */
  settleAnswered(call: ApiKeyCall): Promise<void> | undefined {
    if (!this.meteredUsage.delete(call)) return undefined;
    this.logger.error(
      'A @Metered route answered without recording its usage; its quota reservation is given back',
    );
    return this.release(call).catch(() => undefined);
  }

  meter(slug: string): Promise<Meter | undefined> {
    return this.catalogue.meterMap().then((meters) => meters.get(slug));
  }

  /**
   * Writes an admitted call's events durably and settles its quota reservation; answers, per
   * event, whether it was new. When the quotas could not be decided on Redis they are decided
   * here against Postgres, in the transaction that writes the events.
   */
  async record(
    call: ApiKeyCall,
    events: ValidEvent[],
    positions?: ReadonlyMap<ValidEvent, string>,
  ): Promise<boolean[]> {
    const admission = this.admission.of(call);
    if (admission?.outcome !== 'admitted')
      throw new InternalServerErrorException('Usage recorded for a call that was not admitted');
    this.settled.add(call);
    const rows = events.map((e) => toRow(call.key, e, positions?.get(e)));
    if (admission.usedAfter === null && admission.charges.length > 0) {
      const fresh = await this.fallback.writeWithinQuota(call.key.orgId, admission.charges, (m) =>
        this.writer.writeIn(m, rows),
      );
      return this.counted(fresh);
    }
    let fresh: boolean[];
    try {
      fresh = await this.writer.write(rows);
    } catch (error) {
      await this.limiter.refund(call.key.orgId, admission.charges);
      throw error;
    }
    // Without quota reservations (soft quotas, most calls) there is nothing to give back.
    if (admission.charges.length > 0) {
      const unused = unusedCharges(
        admission,
        events.filter((_, i) => !fresh[i]),
      );
      if (unused.length) await this.limiter.refund(call.key.orgId, unused);
    }
    return this.counted(fresh);
  }

  private counted(fresh: boolean[]): boolean[] {
    const stored = fresh.filter(Boolean).length;
    this.metrics.eventsIngested.inc(stored);
    this.metrics.eventsDuplicated.inc(fresh.length - stored);
    return fresh;
  }

  /**
   * 409 `period_closed` before anything is reserved, when an event is dated in a period whose
   * invoice is finalized. (The writer checks again under a lock, for a finalization racing this.)
   */
  private async refuseClosedPeriods(
    orgId: string,
    events: ValidEvent[],
    positions: string[],
  ): Promise<void> {
    const current = currentPeriod();
    const late = [...new Set(events.map((e) => periodOf(e.time)).filter((p) => p < current))];
    if (late.length === 0) return;
    const closed = await this.closedPeriods.findClosed(orgId, late);
    if (closed.size === 0) return;
    throw periodClosed(
      events
        .map((e, i) => ({ time: e.time, position: positions[i] }))
        .filter((e) => closed.has(periodOf(e.time))),
    );
  }

  /**
   * Closes a period of the org (its invoice is being finalized in `manager`'s transaction): waits
   * for every write of late events into it, keeps new ones out until commit, and marks it closed.
   * Call before reading the period's usage, in the same transaction. With `skipIfBusy`, answers
   * false at once instead of waiting when someone holds the period (another finalizer).
   */
  async closePeriod(
    manager: EntityManager,
    orgId: string,
    period: string,
    options: { skipIfBusy?: boolean } = {},
  ): Promise<boolean> {
    const locked = await this.closedPeriods.lockForClosing(
      manager,
      orgId,
      period,
      !options.skipIfBusy,
    );
    if (locked) await this.closedPeriods.markClosed(manager, orgId, period);
    return locked;
  }

  /** Gives back what an admitted call reserved when it ends without recording (its handler failed). */
  async release(call: ApiKeyCall): Promise<void> {
    const admission = this.admission.of(call);
    if (admission?.outcome !== 'admitted' || this.settled.has(call)) return;
    this.settled.add(call);
    await this.limiter.refund(call.key.orgId, admission.charges);
  }
}

/** 400 naming every bad event; `negative_value` when negative values are all that is wrong. */
function eventProblems(problems: EventProblem[]): Error {
  const plain = problems.map(({ field, message }) => ({ field, message }));
  if (problems.every((p) => p.negative))
    return new MeteringError('negative_value', 'Usage values of sum meters must not be negative', {
      problems: plain,
    });
  return validationFailed(plain);
}

/** The part of the charges that `events` (duplicates) had reserved and did not use. */
function unusedCharges(admission: Admitted, events: ValidEvent[]): QuotaCharge[] {
  const byId = new Map(
    admission.charges.map((c) => [`${c.meter}:${c.period}`, { ...c, amount: 0 }]),
  );
  for (const event of events) {
    const charge = byId.get(`${event.meter.slug}:${periodOf(event.time)}`);
    if (charge) charge.amount += quotaAmount(event);
  }
  return [...byId.values()].filter((c) => c.amount > 0);
}

function toRow(key: VerifiedApiKey, event: ValidEvent, position?: string): EventRow {
  return {
    position,
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
    uniqueProperty: event.meter.aggregation === 'unique_count' ? event.meter.valueProperty : null,
  };
}
