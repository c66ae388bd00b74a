import { Injectable } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { hash as digest } from 'node:crypto';
import { ApiKeyCall, ApiKeyCheck, VerifiedApiKey } from '../api-keys/api-key-call';
import { validationFailed } from '../common/domain-error';
import { secondsToNextPeriod } from '../common/period';
import { Admission, AdmissionService } from '../metering/admission.service';
import { quotaAmount } from '../metering/event-validation';
import { MAX_COUNT_COST } from '../metering/metered-events';
import { MeteringService } from '../metering/metering.service';
import { MeteringError } from '../metering/metering.errors';
import { VerifyAnswersRepository } from './verify-answers.repository';
import { QuotaStateDto, VerifyCode, VerifyRequestDto, VerifyResultDto } from './verify.dto';

const REFUSED: Record<Exclude<ApiKeyCheck['status'], 'valid'>, VerifyCode> = {
  not_found: 'NOT_FOUND',
  revoked: 'REVOKED',
  expired: 'EXPIRED',
};

const keyHash = (idempotencyKey: string) => digest('sha256', idempotencyKey, 'base64url');

/**
 * The gateway call, as Unkey's verify: is this key good for one more request right now? The
 * verdict is in the body, 200 for any key. With `meter`, a valid answer also records `cost`
 * units of it; with an `Idempotency-Key`, a retry records nothing more and answers what the first
 * call answered (Stripe's rule), for 24 hours.
 */
@Injectable()
export class GatewayService {
  constructor(
    private readonly admission: AdmissionService,
    private readonly metering: MeteringService,
    private readonly answers: VerifyAnswersRepository,
  ) {}

  /** `GET /v1/ping`: admitted by `@Metered`; its one `api_calls` event is durable before the answer. */
  async ping(call: ApiKeyCall): Promise<{ pong: true }> {
    await this.metering.recordCall(call);
    return { pong: true };
  }

  async verify(
    check: ApiKeyCheck,
    body: VerifyRequestDto,
    idempotencyKey?: string,
  ): Promise<VerifyResultDto> {
    if (check.status !== 'valid') return { valid: false, code: REFUSED[check.status] };
    const { call } = check;
    if (!call.key.scopes.includes('verify')) {
      const admission = await this.admission.admit(call);
      return verdict(
        admission.outcome === 'rate_limited' ? 'RATE_LIMITED' : 'FORBIDDEN',
        call.key,
        admission,
      );
    }
    if (!body.meter) {
      const admission = await this.admission.admit(call);
      return verdict(
        admission.outcome === 'admitted' ? 'VALID' : 'RATE_LIMITED',
        call.key,
        admission,
      );
    }
    return this.verifyAndRecord(call, body.meter, body.cost ?? 1, idempotencyKey);
  }

  private async verifyAndRecord(
    call: ApiKeyCall,
    meterSlug: string,
    cost: number,
    idempotencyKey: string | undefined,
  ): Promise<VerifyResultDto> {
    const meter = await this.metering.meter(meterSlug);
    if (!meter || meter.aggregation === 'unique_count') {
      throw new MeteringError('unknown_meter', `meter "${meterSlug}" cannot be recorded by verify`);
    }
    if (meter.aggregation === 'count' && (!Number.isInteger(cost) || cost > MAX_COUNT_COST)) {
      throw validationFailed([
        {
          field: 'cost',
          message: `cost must be a whole number ≤ ${MAX_COUNT_COST} for a count meter`,
        },
      ]);
    }
    const { orgId } = call.key;
    const hash = idempotencyKey === undefined ? undefined : keyHash(idempotencyKey);
    const first = hash ? await this.answers.findAnswer(orgId, hash) : null;
    if (first) {
      // A retry: it pays a rate-limit unit like any call, and records nothing.
      const admission = await this.admission.admit(call);
      return admission.outcome === 'rate_limited'
        ? verdict('RATE_LIMITED', call.key, admission)
        : first;
    }
    const usage = await this.metering.usageOfCall(meter.slug, cost, hash && `verify:${hash}`);
    const admission = await this.admission.admit(call, usage);
    if (admission.outcome === 'rate_limited') return verdict('RATE_LIMITED', call.key, admission);
    if (admission.outcome === 'quota_exceeded') {
      const { exceeded, used } = admission;
      return verdict(
        'QUOTA_EXCEEDED',
        call.key,
        admission,
        quotaState(exceeded.meter, exceeded.included, used),
      );
    }
    const fresh = await this.metering.record(call, usage);
    // Units reserved for a repeated id were given back: report usage without them.
    const returned = usage.reduce((units, e, i) => units + (fresh[i] ? 0 : quotaAmount(e)), 0);
    const index = admission.charges.findIndex((c) => c.meter === meter.slug);
    const quota =
      index >= 0 && admission.usedAfter
        ? quotaState(
            meter.slug,
            admission.charges[index].included,
            admission.usedAfter[index] - returned,
          )
        : undefined;
    const answer = verdict('VALID', call.key, admission, quota);
    return hash ? this.answers.rememberAnswer(orgId, hash, answer) : answer;
  }

  @Cron(CronExpression.EVERY_HOUR)
  async forgetOldAnswers(): Promise<void> {
    await this.answers.deleteExpired();
  }
}

function quotaState(meter: string, limit: number, used: number): QuotaStateDto {
  return { meter, limit, remaining: Math.max(0, limit - used), reset: secondsToNextPeriod() };
}

function verdict(
  code: VerifyCode,
  key: VerifiedApiKey,
  admission: Admission,
  quota?: QuotaStateDto,
): VerifyResultDto {
  return {
    valid: code === 'VALID',
    code,
    keyId: key.id,
    orgId: key.orgId,
    scopes: key.scopes,
    ratelimit: {
      limit: admission.rate.limit,
      remaining: admission.rate.remaining,
      reset: admission.rate.resetSeconds,
    },
    ...(quota ? { quota } : {}),
  };
}
