import {
  CanActivate,
  ExecutionContext,
  Injectable,
  InternalServerErrorException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request, RequestHandler, Response } from 'express';
import onHeaders from 'on-headers';
import { ApiKeyCall } from '../api-keys/api-key-call';
import { apiKeyCallOf } from '../api-keys/api-key.guard';
import { ApiKeyScope } from '../api-keys/api-key-scopes';
import { ApiKeyAuthError } from '../api-keys/api-keys.errors';
import { BodyRules, bodyReader, hasBody, readBody } from '../common/request-body';
import { RateState } from '../limits/limiter.service';
import { Admission, AdmissionService } from './admission.service';
import { MeteringService } from './metering.service';

export const V1_ROUTE = 'metering:v1-route';

export interface V1RouteOptions {
  scope?: ApiKeyScope;
  /** Admit the call with one event of `cost` units of this meter, recorded by the handler (`@Metered`). */
  meter?: string;
  cost: number;
  /** `handler`: the handler admits the call itself, because its usage depends on its body. */
  admittedBy: 'route' | 'handler';
  body: BodyRules;
}

/**
 * The headers most gateways send (`RateLimit-Limit/-Remaining/-Reset`) and the current IETF
 * draft's structured pair (`RateLimit-Policy`, `RateLimit`), from the binding bucket. Set one by
 * one: every /v1 answer carries them, and a map of them would be garbage on each.
 */
function setRateLimitHeaders(response: Response, rate: RateState): void {
  response.setHeader('RateLimit-Limit', String(rate.limit));
  response.setHeader('RateLimit-Remaining', String(rate.remaining));
  response.setHeader('RateLimit-Reset', String(rate.resetSeconds));
  response.setHeader('RateLimit-Policy', `"default";q=${rate.limit};w=${rate.periodSeconds}`);
  response.setHeader('RateLimit', `"default";r=${rate.remaining};t=${rate.resetSeconds}`);
}

function writeAdmissionHeaders(response: Response, admission: Admission | undefined): void {
  if (!admission) return;
  setRateLimitHeaders(response, admission.rate);
  // A refusal answered in the body (verify's RATE_LIMITED) tells when to come back too.
  if (admission.outcome !== 'admitted')
    response.setHeader('Retry-After', String(Math.max(1, admission.retryAfterSeconds)));
}

/**
 * The path of a `/v1` call once ApiKeyGuard accepted its key: the scope, then the body (read only
 * now), then the admission — here for a route, or by the handler when its usage depends on the
 * body. Whatever the outcome, the answer carries the RateLimit headers of the call's one
 * admission, written when the answer's headers go out; a call that fails before being admitted is
 * admitted on the way out by V1CallFilter, so that every call pays exactly one unit.
 *
 * A guard and a filter rather than an interceptor: in Nest 11 an interceptor wraps each call in
 * two AsyncResources and an rxjs chain, about 70 µs of CPU per request on the bench machine
 * (`bench/results/README.md`), more than the admission itself.
 */
@Injectable()
export class V1CallGuard implements CanActivate {
  private readonly readers = new WeakMap<BodyRules, RequestHandler>();

  constructor(
    private readonly reflector: Reflector,
    private readonly admission: AdmissionService,
    private readonly metering: MeteringService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.reflector.get<V1RouteOptions | undefined>(V1_ROUTE, context.getHandler());
    if (!options) throw new InternalServerErrorException('V1CallGuard without @ApiKeyAuth');
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const call = apiKeyCallOf(request);
    // A refused key answered in the body (verify): nothing to read, admit or meter.
    if (!call) return true;
    onHeaders(response, () => {
      writeAdmissionHeaders(response, this.admission.of(call));
      if (response.statusCode < 400) void this.metering.settleAnswered(call);
    });
    await this.admitRoute(call, options, request, response);
    return true;
  }

  private async admitRoute(
    call: ApiKeyCall,
    options: V1RouteOptions,
    request: Request,
    response: Response,
  ): Promise<void> {
    if (options.scope && !call.key.scopes.includes(options.scope)) {
      throw new ApiKeyAuthError(
        'insufficient_scope',
        `This API key lacks the ${options.scope} scope`,
      );
    }
    if (hasBody(request)) await readBody(this.reader(options.body), request, response);
    if (options.admittedBy === 'handler') return;
    if (options.meter) await this.metering.admitMetered(call, options.meter, options.cost);
    else await this.admission.require(call);
  }

  private reader(rules: BodyRules): RequestHandler {
    let reader = this.readers.get(rules);
    if (!reader) this.readers.set(rules, (reader = bodyReader(rules)));
    return reader;
  }
}
