import { BadRequestException, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IncomingHttpHeaders } from 'node:http';
import { Response } from 'express';
import { extractApiKey } from '../api-keys/api-key-format';
import { ApiKeyUsageTracker } from '../api-keys/api-key-usage.tracker';
import { ApiKeyVerifier, KeyCheck, VerifiedApiKey } from '../api-keys/api-key-verifier.service';
import { quotaAmount } from '../metering/event-validation';
import { MAX_COUNT_COST, eventsForCall } from '../metering/metered-events';
import { Admission, MeteringService, secondsToNextPeriod } from '../metering/metering.service';
import { setRateLimitHeaders } from '../rate-limit/rate-limit-headers';
import { takeRequestUnit } from '../rate-limit/rate-limit.guard';
import { RateDecision, RateLimiterService } from '../rate-limit/rate-limiter.service';
import { VerifyCode, VerifyRequestDto, VerifyResultDto } from './verify.dto';

const CODES: Record<Exclude<KeyCheck['status'], 'valid'>, VerifyCode> = {
  not_found: 'NOT_FOUND',
  revoked: 'REVOKED',
  expired: 'EXPIRED',
};

type QuotaState = NonNullable<VerifyResultDto['quota']>;

@Injectable()
export class GatewayService {
  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly usage: ApiKeyUsageTracker,
    private readonly limiter: RateLimiterService,
    private readonly metering: MeteringService,
  ) {}

  /**
   * The gateway call: is this key good for one more request right now? With `meter`, a valid
   * answer also records `cost` units of it, once per `Idempotency-Key`.
   */
  async verify(
    headers: IncomingHttpHeaders,
    body: VerifyRequestDto,
    response: Response,
  ): Promise<VerifyResultDto> {
    const result = await this.verifier.check(extractApiKey(headers));
    if (result.status !== 'valid') return verdict(CODES[result.status], result.key);
    const key = result.key;
    if (!key.scopes.includes('verify')) return verdict('FORBIDDEN', key);
    if (!body.meter) {
      const decision = await takeRequestUnit(this.limiter, key, response);
      setRateLimitHeaders(response, decision);
      if (decision.allowed) this.usage.noteUse(key.id);
      return verdict(decision.allowed ? 'VALID' : 'RATE_LIMITED', key, decision);
    }
    return this.verifyAndRecord(
      key,
      body.meter,
      body.cost ?? 1,
      headers['idempotency-key'],
      response,
    );
  }

  private async verifyAndRecord(
    key: VerifiedApiKey,
    meterSlug: string,
    cost: number,
    idempotencyKey: string | string[] | undefined,
    response: Response,
  ): Promise<VerifyResultDto> {
    const meter = (await this.metering.meters()).get(meterSlug);
    if (!meter || meter.aggregation === 'unique_count') {
      throw new BadRequestException({
        code: 'validation_failed',
        message: [`meter "${meterSlug}" cannot be recorded by verify`],
      });
    }
    if (meter.aggregation === 'count' && (!Number.isInteger(cost) || cost > MAX_COUNT_COST)) {
      throw new BadRequestException({
        code: 'validation_failed',
        message: [`cost must be a whole number ≤ ${MAX_COUNT_COST} for a count meter`],
      });
    }
    const idem =
      typeof idempotencyKey === 'string' && idempotencyKey.length > 0
        ? idempotencyKey.slice(0, 100)
        : randomUUID();
    const events = eventsForCall(meter, cost, `verify:${idem}`);
    const admission = await this.metering.admit(key, events, 1, response);
    setRateLimitHeaders(response, admission.rate);
    if (admission.outcome === 'rate_limited') return verdict('RATE_LIMITED', key, admission.rate);
    if (admission.outcome === 'quota_exceeded') {
      const { charge, used } = admission;
      return verdict(
        'QUOTA_EXCEEDED',
        key,
        admission.rate,
        quotaState(charge.meter, charge.included, used),
      );
    }
    const fresh = await this.metering.commit(key, admission, events);
    this.usage.noteUse(key.id);
    // A repeated Idempotency-Key reserved units that were given back: report usage without them.
    const returned = events.reduce(
      (units, event, i) => units + (fresh[i] ? 0 : quotaAmount(event)),
      0,
    );
    return verdict('VALID', key, admission.rate, quotaAfter(admission, meter.slug, returned));
  }
}

function quotaState(meter: string, limit: number, used: number): QuotaState {
  return { meter, limit, remaining: Math.max(0, limit - used), reset: secondsToNextPeriod() };
}

function quotaAfter(
  admission: Admission & { outcome: 'admitted' },
  meter: string,
  returned: number,
): QuotaState | undefined {
  const index = admission.charges.findIndex((c) => c.meter === meter);
  if (index < 0 || !admission.usedAfter) return undefined;
  return quotaState(
    meter,
    admission.charges[index].included,
    admission.usedAfter[index] - returned,
  );
}

function verdict(
  code: VerifyCode,
  key?: VerifiedApiKey,
  decision?: RateDecision,
  quota?: QuotaState,
): VerifyResultDto {
  return {
    valid: code === 'VALID',
    code,
    keyId: key?.id ?? null,
    orgId: key?.orgId ?? null,
    scopes: key?.scopes ?? [],
    ratelimit: decision
      ? { limit: decision.limit, remaining: decision.remaining, reset: decision.resetSeconds }
      : key
        ? { limit: key.rateLimit.limit, remaining: key.rateLimit.limit, reset: 0 }
        : null,
    ...(quota ? { quota } : {}),
  };
}
