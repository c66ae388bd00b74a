import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { Request } from 'express';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { AppValidationPipe } from '../common/validation.pipe';
import { AuthError } from './auth.errors';
import { FormLoginDto, JsonLoginDto } from './dto/auth.dto';

/** Global: every route needs a user JWT unless it is marked `@Public()` or takes an API key. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (kind && kind !== 'jwt') return true;
    return super.canActivate(context);
  }

  override handleRequest<T>(error: unknown, user: T | false): T {
    if (error || !user) throw new AuthError('invalid_token', 'A valid bearer token is required');
    return user;
  }
}

const validation = new AppValidationPipe();

/** The login body, validated: the OAuth2 form (`username`) and JSON (`email`) both give `email`. */
async function readLoginBody(request: Request): Promise<{ email: string; password: string }> {
  const body: unknown = request.body ?? {};
  if (request.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded') {
    const form = (await validation.transform(body, {
      type: 'body',
      metatype: FormLoginDto,
    })) as FormLoginDto;
    return { email: form.username, password: form.password };
  }
  const json = (await validation.transform(body, {
    type: 'body',
    metatype: JsonLoginDto,
  })) as JsonLoginDto;
  return { email: json.email, password: json.password };
}

/**
 * Login through passport-local. The body is validated here, before passport reads it, because
 * guards run before pipes: the OAuth2 form (`username`) and JSON (`email`) both become `email`.
 *
 * Passport keeps its strategies in one process-wide registry: with several app instances in one
 * process (as in the e2e tests) the last one created checks every login. One instance per
 * process, as deployed, is unaffected.
 */
@Injectable()
export class LoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    request.body = await readLoginBody(request);
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<T>(error: unknown, user: T | false): T {
    if (error) throw error;
    if (!user) throw new AuthError('invalid_credentials', 'Invalid email or password');
    return user;
  }
}
