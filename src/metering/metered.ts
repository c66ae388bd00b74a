import {
  applyDecorators,
  CallHandler,
  CanActivate,
  ExecutionContext,
  Injectable,
  InternalServerErrorException,
  NestInterceptor,
  SetMetadata,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiSecurity, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { from, Observable, switchMap, tap } from 'rxjs';
import { ApiKeyGuard, ApiKeyRequest } from '../api-keys/api-key.guard';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { RateLimiterService } from '../rate-limit/rate-limiter.service';
import { ValidEvent } from './event-validation';
import { eventsForCall } from './metered-events';
import { Admission, MeteringService, throwUnlessAdmitted } from './metering.service';

const METERED = 'metering:metered';

interface MeteredSpec {
  meter: string;
  cost: number;
}

interface MeteredRequest extends ApiKeyRequest {
  metered?: { admission: Admission & { outcome: 'admitted' }; events: ValidEvent[] };
}

/**
 * Admits a metered call: takes the rate-limit unit and reserves the hard quota in one decision
 * (runs after ApiKeyGuard).
 */
@Injectable()
export class MeteredGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly metering: MeteringService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const spec = this.reflector.get<MeteredSpec>(METERED, context.getHandler());
    const request = context.switchToHttp().getRequest<MeteredRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const key = request.apiKey;
    const meter = (await this.metering.meters()).get(spec?.meter ?? '');
    if (!spec || !key || !meter)
      throw new InternalServerErrorException(
        `@Metered needs an API key and a known meter (${spec?.meter})`,
      );
    const events = eventsForCall(meter, spec.cost, `req:${String(request.id)}`);
    const admission = await this.metering.admit(key, events, 1, response);
    throwUnlessAdmitted(admission, response);
    request.metered = { admission, events };
    return true;
  }
}

/** Records the call's usage once the handler succeeded, before the answer leaves; gives the reservation back otherwise. */
@Injectable()
export class MeteredInterceptor implements NestInterceptor {
  constructor(
    private readonly metering: MeteringService,
    private readonly limiter: RateLimiterService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<MeteredRequest & Request>();
    const metered = request.metered!;
    return next.handle().pipe(
      tap({
        error: () => void this.limiter.refund(request.apiKey!.orgId, metered.admission.charges),
      }),
      switchMap((body) =>
        from(
          this.metering.commit(request.apiKey!, metered.admission, metered.events).then(() => body),
        ),
      ),
    );
  }
}

/**
 * Meters an app route: it takes an API key, pays a rate-limit unit, is refused past a hard quota
 * of `meter`, and records `cost` units of `meter` per successful call (idempotent on the request id).
 */
export const Metered = (meter: string, cost = 1) =>
  applyDecorators(
    SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind),
    SetMetadata(METERED, { meter, cost } satisfies MeteredSpec),
    UseGuards(ApiKeyGuard, MeteredGuard),
    UseInterceptors(MeteredInterceptor),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: '`invalid_api_key`, `key_revoked` or `key_expired`' }),
    ApiTooManyRequestsResponse({
      description: `\`rate_limited\`, or \`quota_exceeded\` for ${meter}; with \`Retry-After\``,
    }),
  );
