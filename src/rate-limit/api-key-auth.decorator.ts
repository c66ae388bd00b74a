import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeyGuard, REQUIRED_SCOPE } from '../api-keys/api-key.guard';
import { ApiKeyScope } from '../api-keys/api-key-scopes';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { RateLimitGuard } from './rate-limit.guard';

/**
 * A `/v1` route: takes an API key (never a user JWT), with `scope` if given, and pays one unit of
 * the key's rate limit — in RateLimitGuard, or, with `rateLimitedByHandler`, in the handler's own
 * service, which decides the rate limit together with quotas in one Redis round trip.
 */
export const ApiKeyAuth = (scope?: ApiKeyScope, options: { rateLimitedByHandler?: boolean } = {}) =>
  applyDecorators(
    SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind),
    SetMetadata(REQUIRED_SCOPE, scope),
    UseGuards(ApiKeyGuard, ...(options.rateLimitedByHandler ? [] : [RateLimitGuard])),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: '`invalid_api_key`, `key_revoked` or `key_expired`' }),
    ApiTooManyRequestsResponse({ description: '`rate_limited`, with `Retry-After`' }),
    ApiServiceUnavailableResponse({
      description: '`rate_limiter_unavailable` (RATE_LIMIT_FAILURE_MODE=closed and Redis down)',
    }),
    ...(scope
      ? [ApiForbiddenResponse({ description: `\`insufficient_scope\`: the key lacks ${scope}` })]
      : []),
  );
