import {
  CallHandler,
  ExecutionContext,
  Injectable,
  InternalServerErrorException,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request, RequestHandler, Response } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import { ApiKeyCall } from '../api-keys/api-key-call';
import { apiKeyCallOf } from '../api-keys/api-key.guard';
import { ApiKeyScope } from '../api-keys/api-key-scopes';
import { ApiKeyAuthError } from '../api-keys/api-keys.errors';
import { BodyRules, bodyReader, hasBody, readBody } from '../common/request-body';
import { RateState } from '../limits/limiter.service';
import { Admission, AdmissionService, throwUnlessAdmitted } from './admission.service';
import { ValidEvent } from './event-validation';
import { MeteringService } from './metering.service';

export const V1_ROUTE = 'metering:v1-route';

export interface V1RouteOptions {
  scope?: ApiKeyScope;
  /** Meter one event of `cost` units per successful call (`@Metered`). */
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

/**
 * The path of a `/v1` call after its key is accepted (ApiKeyGuard): the scope, then the body
 * (read only now), then the admission — here for a route, or by the handler when its usage
 * depends on the body — then the handler, then the call's usage recorded (`@Metered`). Whatever
 * the outcome, success or error, the answer carries the RateLimit headers of the call's one
 * admission; a call that fails before being admitted (a bad body, a missing scope) is admitted on
 * the way out, so that every call pays exactly one unit and bad requests are limited too.
 */
@Injectable()
export class V1CallInterceptor implements NestInterceptor {
  private readonly readers = new WeakMap<BodyRules, RequestHandler>();

  constructor(
    private readonly reflector: Reflector,
    private readonly admission: AdmissionService,
    private readonly metering: MeteringService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<V1RouteOptions | undefined>(V1_ROUTE, context.getHandler());
    if (!options) throw new InternalServerErrorException('V1CallInterceptor without @ApiKeyAuth');
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const call = apiKeyCallOf(request);
    // A refused key answered in the body (verify): nothing to read, admit or meter.
    if (!call) return next.handle();
    return from(this.handle(call, options, next, request, response));
  }

  /**
   * The whole call as one async function rather than a chain of operators: the same steps, without
   * the subscribers and closures a chain allocates on every request. A /v1 handler answers one
   * value (never a stream of them).
   */
  private async handle(
    call: ApiKeyCall,
    options: V1RouteOptions,
    next: CallHandler,
    request: Request,
    response: Response,
  ): Promise<unknown> {
    try {
      const usage = await this.admitRoute(call, options, request, response);
      const body: unknown = await lastValueFrom(next.handle());
      if (usage) await this.metering.record(call, usage);
      this.writeHeaders(response, this.admission.of(call));
      return body;
    } catch (error) {
      return this.fail(call, error, response);
    }
  }

  /** Everything before the handler; answers the usage to record after it, if the route meters. */
  private async admitRoute(
    call: ApiKeyCall,
    options: V1RouteOptions,
    request: Request,
    response: Response,
  ): Promise<ValidEvent[] | null> {
    if (options.scope && !call.key.scopes.includes(options.scope)) {
      throw new ApiKeyAuthError(
        'insufficient_scope',
        `This API key lacks the ${options.scope} scope`,
      );
    }
    if (hasBody(request)) await readBody(this.reader(options.body), request, response);
    if (options.admittedBy === 'handler') return null;
    const usage = options.meter ? await this.metering.usageOfCall(options.meter, options.cost) : [];
    await this.admission.require(call, usage);
    return options.meter ? usage : null;
  }

  private async fail(call: ApiKeyCall, error: unknown, response: Response): Promise<never> {
    let failure = error;
    let admission = this.admission.of(call);
    if (!admission) {
      try {
        admission = await this.admission.admit(call);
        throwUnlessAdmitted(admission);
      } catch (refusal) {
        // Rate limited: that is the answer. The limiter unavailable: the first error stands.
        if (admission) failure = refusal;
      }
    } else {
      await this.metering.release(call).catch(() => undefined);
    }
    this.writeHeaders(response, admission);
    throw failure;
  }

  private writeHeaders(response: Response, admission: Admission | undefined): void {
    if (!admission || response.headersSent) return;
    setRateLimitHeaders(response, admission.rate);
    // A refusal answered in the body (verify's RATE_LIMITED) tells when to come back too.
    if (admission.outcome !== 'admitted')
      response.setHeader('Retry-After', String(Math.max(1, admission.retryAfterSeconds)));
  }

  private reader(rules: BodyRules): RequestHandler {
    let reader = this.readers.get(rules);
    if (!reader) this.readers.set(rules, (reader = bodyReader(rules)));
    return reader;
  }
}
