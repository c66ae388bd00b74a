import { applyDecorators, SetMetadata, UseFilters, UseGuards } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import { API_KEY_ROUTE, ApiKeyGuard, ApiKeyRouteOptions } from '../api-keys/api-key.guard';
import { ApiKeyScope } from '../api-keys/api-key-scopes';
import { ApiErrors } from '../common/api-errors';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { BodyRules } from '../common/request-body';
import { V1CallFilter } from './v1-call.filter';
import { V1_ROUTE, V1CallGuard, V1RouteOptions } from './v1-call.guard';

export interface ApiKeyAuthOptions {
  /** The scope the key must hold. */
  scope?: ApiKeyScope;
  /** Admits each call with `cost` units (default 1) of this meter, for its handler to record (`@Metered`). */
  meter?: string;
  cost?: number;
  /** The handler admits the call itself (its usage depends on the body): events, verify. */
  admittedBy?: 'route' | 'handler';
  /** A refused key is a verdict in the body (200), not a 401: verify. */
  verdictInBody?: boolean;
  /** How the body is read once the key is accepted (default: JSON, 1 MB). */
  body?: BodyRules;
}

const DEFAULT_BODY: BodyRules = { limit: '1mb' };

/**
 * The one declaration of a `/v1` route: it takes an API key (never a user JWT), checked by
 * ApiKeyGuard; V1CallGuard then checks the scope, reads the body, admits the call (one unit of
 * the org's plan limit and the key's own, and the hard quota of what it meters) and has the
 * RateLimit headers written on every answer; V1CallFilter settles the calls that fail.
 */
export const ApiKeyAuth = (options: ApiKeyAuthOptions = {}) => {
  const route: V1RouteOptions = {
    scope: options.scope,
    meter: options.meter,
    cost: options.cost ?? 1,
    admittedBy: options.admittedBy ?? 'route',
    body: options.body ?? DEFAULT_BODY,
  };
  const limits = options.meter
    ? `\`rate_limited\`, or \`quota_exceeded\` for ${options.meter}`
    : '`rate_limited`';
  return applyDecorators(
    SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind),
    SetMetadata(API_KEY_ROUTE, {
      verdictInBody: options.verdictInBody,
    } satisfies ApiKeyRouteOptions),
    SetMetadata(V1_ROUTE, route),
    UseGuards(ApiKeyGuard, V1CallGuard),
    UseFilters(V1CallFilter),
    ApiSecurity('api-key'),
    ApiErrors({
      ...(options.verdictInBody
        ? {}
        : { 401: '`invalid_api_key`, `key_revoked` or `key_expired`' }),
      ...(options.scope ? { 403: `\`insufficient_scope\`: the key lacks ${options.scope}` } : {}),
      429: `${limits} with \`Retry-After\`; or \`too_many_requests\`: too many invalid keys from this address`,
      503: '`rate_limiter_unavailable` (RATE_LIMIT_FAILURE_MODE=closed and Redis down) or `database_unavailable`',
    }),
  );
};

/**
 * Meters an app route: it takes an API key, pays a rate-limit unit, and is refused past a hard
 * quota of `meter`; once its work succeeded, the handler's service records the call's `cost`
 * units of `meter` (under an id the server makes) with `MeteringService.recordCall`, before
 * answering. A handler that fails instead records nothing and gives the reservation back.
 */
export const Metered = (meter: string, cost = 1) => ApiKeyAuth({ meter, cost });
