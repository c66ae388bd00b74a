import {
  createParamDecorator,
  ExecutionContext,
  InternalServerErrorException,
  SetMetadata,
} from '@nestjs/common';
import { Request } from 'express';

/** How a route authenticates. The global JWT guard acts only on `jwt` routes (the default). */
export type AuthKind = 'jwt' | 'public' | 'api-key';
export const AUTH_KIND = 'auth:kind';

/** Opens a route to anonymous callers; every other route needs a user JWT unless it says otherwise. */
export const Public = () => SetMetadata(AUTH_KIND, 'public' satisfies AuthKind);

export interface AuthUser {
  id: string;
  email: string;
}

export interface AuthenticatedRequest extends Request {
  user?: AuthUser;
}

/** The user behind the JWT. Loud if no guard authenticated the request: that is a wiring bug. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  const user = ctx.switchToHttp().getRequest<AuthenticatedRequest>().user;
  if (!user)
    throw new InternalServerErrorException(
      'CurrentUser used on a route without JWT authentication',
    );
  return user;
});
