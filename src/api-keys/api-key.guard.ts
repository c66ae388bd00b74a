import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  InternalServerErrorException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { extractApiKey } from './api-key-format';
import { ApiKeyScope } from './api-key-scopes';
import { ApiKeyUsageTracker } from './api-key-usage.tracker';
import { ApiKeyVerifier, KeyCheck, VerifiedApiKey } from './api-key-verifier.service';

export const REQUIRED_SCOPE = 'api-keys:required-scope';

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

/** The key `ApiKeyGuard` verified. Loud if the route has no ApiKeyGuard. */
export const CurrentApiKey = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): VerifiedApiKey => {
    const key = ctx.switchToHttp().getRequest<ApiKeyRequest>().apiKey;
    if (!key)
      throw new InternalServerErrorException('CurrentApiKey used on a route without @ApiKeyAuth()');
    return key;
  },
);
