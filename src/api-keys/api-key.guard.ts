import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  InternalServerErrorException,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Request } from 'express';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { extractApiKey } from './api-key-format';
import { ApiKeyScope } from './api-key-scopes';
import { ApiKeyUsageTracker } from './api-key-usage.tracker';
import { ApiKeyVerifier, KeyCheck, VerifiedApiKey } from './api-key-verifier.service';

const REQUIRED_SCOPE = 'api-keys:required-scope';

export interface ApiKeyRequest extends Request {
  apiKey?: VerifiedApiKey;
}

const UNAUTHORIZED: Record<
  Exclude<KeyCheck['status'], 'valid'>,
  { code: string; message: string }
> = {
  not_found: {
    code: 'invalid_api_key',
    message: 'A valid API key is required (Authorization: Bearer or X-API-Key)',
  },
  revoked: { code: 'key_revoked', message: 'This API key has been revoked' },
  expired: { code: 'key_expired', message: 'This API key has expired' },
};

/** Authenticates `/v1` calls by API key and checks the route's scope. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ApiKeyVerifier,
    private readonly usage: ApiKeyUsageTracker,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ApiKeyRequest>();
    const result = await this.verifier.check(extractApiKey(request.headers));
    if (result.status !== 'valid') throw new UnauthorizedException(UNAUTHORIZED[result.status]);
    const scope = this.reflector.get<ApiKeyScope | undefined>(REQUIRED_SCOPE, context.getHandler());
    if (scope && !result.key.scopes.includes(scope)) {
      throw new ForbiddenException({
        code: 'insufficient_scope',
        message: `This API key lacks the ${scope} scope`,
      });
    }
    this.usage.noteUse(result.key.id);
    request.apiKey = result.key;
    return true;
  }
}

/**
 * The route takes an API key (never a user JWT), with `scope` if given. `extraGuards` run after
 * the key is known (rate limiting, quotas).
 */
export const ApiKeyAuth = (scope?: ApiKeyScope, ...extraGuards: Parameters<typeof UseGuards>) =>
  applyDecorators(
    SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind),
    SetMetadata(REQUIRED_SCOPE, scope),
    UseGuards(ApiKeyGuard, ...extraGuards),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: '`invalid_api_key`, `key_revoked` or `key_expired`' }),
    ...(scope
      ? [ApiForbiddenResponse({ description: `\`insufficient_scope\`: the key lacks ${scope}` })]
      : []),
  );

/** The key `ApiKeyGuard` verified. Loud if the route has no `@ApiKeyAuth()`. */
export const CurrentApiKey = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): VerifiedApiKey => {
    const key = ctx.switchToHttp().getRequest<ApiKeyRequest>().apiKey;
    if (!key)
      throw new InternalServerErrorException('CurrentApiKey used on a route without @ApiKeyAuth()');
    return key;
  },
);
