import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  InternalServerErrorException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { ApiKeyCall, ApiKeyCheck } from './api-key-call';
import { ApiKeyFailureLimiter } from './api-key-failures';
import { extractApiKey } from './api-key-format';
import { ApiKeyUsageTracker } from './api-key-usage.tracker';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { ApiKeyAuthError } from './api-keys.errors';

export const API_KEY_ROUTE = 'api-keys:route';

export interface ApiKeyRouteOptions {
  /** Let a refused key through as a verdict for the handler to answer (`/v1/verify`), not a 401. */
  verdictInBody?: boolean;
}

interface ApiKeyRequest extends Request {
  apiKeyCheck?: ApiKeyCheck;
}

const REFUSALS = {
  not_found: () =>
    new ApiKeyAuthError(
      'invalid_api_key',
      'A valid API key is required (Authorization: Bearer or X-API-Key)',
    ),
  revoked: () => new ApiKeyAuthError('key_revoked', 'This API key has been revoked'),
  expired: () => new ApiKeyAuthError('key_expired', 'This API key has expired'),
};

/**
 * Authenticates a `/v1` call by its API key, through the cached verifier. An address past its
 * budget of failed keys is refused before any look-up; a refused key counts against it. Nothing of
 * the request body has been read yet: that happens once the key is accepted.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ApiKeyVerifier,
    private readonly failures: ApiKeyFailureLimiter,
    private readonly usage: ApiKeyUsageTracker,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options =
      this.reflector.get<ApiKeyRouteOptions | undefined>(API_KEY_ROUTE, context.getHandler()) ?? {};
    const request = context.switchToHttp().getRequest<ApiKeyRequest>();
    const address = request.ip ?? request.socket.remoteAddress ?? 'unknown';
    const blocked = this.failures.blockedSeconds(address);
    if (blocked > 0) {
      throw new ApiKeyAuthError(
        'too_many_requests',
        'Too many requests with invalid API keys from this address; try again later',
        { retryAfterSeconds: blocked },
      );
    }
    const result = await this.verifier.check(extractApiKey(request.headers));
    if (result.status !== 'valid') {
      await this.failures.recordFailure(address);
      if (!options.verdictInBody) throw REFUSALS[result.status]();
      request.apiKeyCheck = { status: result.status };
      return true;
    }
    this.usage.noteUse(result.key.id);
    request.apiKeyCheck = { status: 'valid', call: new ApiKeyCall(result.key) };
    return true;
  }
}

/** The check of the presented key; loud if the route has no ApiKeyGuard. */
export function apiKeyCheckOf(request: Request): ApiKeyCheck {
  const check = (request as ApiKeyRequest).apiKeyCheck;
  if (!check) throw new InternalServerErrorException('A /v1 route without ApiKeyGuard');
  return check;
}

/** The call of an accepted key, or undefined (a refused key answered in the body). */
export function apiKeyCallOf(request: Request): ApiKeyCall | undefined {
  const check = apiKeyCheckOf(request);
  return check.status === 'valid' ? check.call : undefined;
}

/**
 * The call of an accepted key if the request got that far, else undefined (no key checked yet, or
 * a refused one): for what runs on any outcome, as the error answers of `/v1` routes.
 */
export function presentedCallOf(request: Request): ApiKeyCall | undefined {
  const check = (request as ApiKeyRequest).apiKeyCheck;
  return check?.status === 'valid' ? check.call : undefined;
}

/** The accepted key's call. Loud if the route has no ApiKeyGuard or lets refused keys through. */
export const CurrentApiKey = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): ApiKeyCall => {
    const call = apiKeyCallOf(ctx.switchToHttp().getRequest<Request>());
    if (!call) throw new InternalServerErrorException('CurrentApiKey on a verdict-in-body route');
    return call;
  },
);

/** The check of the presented key, accepted or not (for `/v1/verify`). */
export const CurrentApiKeyCheck = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): ApiKeyCheck =>
    apiKeyCheckOf(ctx.switchToHttp().getRequest<Request>()),
);
