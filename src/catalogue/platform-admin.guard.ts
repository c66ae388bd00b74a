import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  InternalServerErrorException,
  UseGuards,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AuthenticatedRequest } from '../common/auth.decorators';
import { AppConfig } from '../config/configuration';

/**
 * Lets through users whose email is in `PLATFORM_ADMIN_EMAILS` (the operator's staff who manage
 * the catalogue); any other signed-in user gets 403. Runs after the global JWT guard, so an
 * anonymous caller has already had its 401.
 */
@Injectable()
export class PlatformAdminGuard implements CanActivate {
  private readonly admins: ReadonlySet<string>;

  constructor(config: ConfigService<AppConfig, true>) {
    this.admins = new Set(config.get('auth', { infer: true }).platformAdminEmails);
  }

  canActivate(context: ExecutionContext): boolean {
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (!user)
      throw new InternalServerErrorException('PlatformAdminGuard needs a JWT-authenticated route');
    if (!this.admins.has(user.email.trim().toLowerCase())) {
      throw new ForbiddenException({
        code: 'platform_admin_required',
        message: 'This action needs a platform admin',
      });
    }
    return true;
  }
}

/** Requires a user JWT whose email is one of `PLATFORM_ADMIN_EMAILS`. */
export const PlatformAdmin = () =>
  applyDecorators(
    UseGuards(PlatformAdminGuard),
    ApiBearerAuth('jwt'),
    ApiUnauthorizedResponse({ description: 'No valid bearer token' }),
    ApiForbiddenResponse({
      description: '`platform_admin_required`: the caller is not a platform admin',
    }),
  );
