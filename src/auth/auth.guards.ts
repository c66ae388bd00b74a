import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { Request } from 'express';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { AppValidationPipe } from '../common/validation.pipe';
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
    if (error || !user) {
      throw new UnauthorizedException({
        code: 'invalid_token',
        message: 'A valid bearer token is required',
      });
    }
    return user;
  }
}

const validation = new AppValidationPipe();

/**
 * Login through passport-local. The body is validated here, before passport reads it, because
 * guards run before pipes: the OAuth2 form (`username`) and JSON (`email`) both become `email`.
 */
@Injectable()
export class LoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const isForm =
      request.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
    const body: unknown = request.body ?? {};
    if (isForm) {
      const form = (await validation.transform(body, {
        type: 'body',
        metatype: FormLoginDto,
      })) as FormLoginDto;
      request.body = { email: form.username, password: form.password };
    } else {
      const json = (await validation.transform(body, {
        type: 'body',
        metatype: JsonLoginDto,
      })) as JsonLoginDto;
      request.body = { email: json.email, password: json.password };
    }
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<T>(error: unknown, user: T | false): T {
    if (error) throw error;
    if (!user)
      throw new UnauthorizedException({
        code: 'invalid_credentials',
        message: 'Invalid email or password',
      });
    return user;
  }
}
