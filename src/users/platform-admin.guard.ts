import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Injectable,
  InternalServerErrorException,
  UseGuards,
} from '@nestjs/common';
import { ApiErrors, ApiUserAuth } from '../common/api-errors';
import { AuthenticatedRequest } from '../common/auth.decorators';
import { UsersError } from './users.errors';
import { UsersService } from './users.service';

/**
 * Lets through platform admins (the operator's staff who manage the catalogue): a flag on the
 * user in Postgres, read on each call. Any other signed-in user gets 403. Runs after the global JWT
 * guard, so an anonymous caller has had its 401.
 */
@Injectable()
export class PlatformAdminGuard implements CanActivate {
  constructor(private readonly users: UsersService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (!user)
      throw new InternalServerErrorException('PlatformAdminGuard needs a JWT-authenticated route');
    if (!(await this.users.isPlatformAdmin(user.id)))
      throw new UsersError('platform_admin_required', 'This action needs a platform admin');
    return true;
  }
}

/** Requires a user JWT of a platform admin. */
export const PlatformAdmin = () =>
  applyDecorators(
    UseGuards(PlatformAdminGuard),
    ApiUserAuth(),
    ApiErrors({ 403: '`platform_admin_required`: the caller is not a platform admin' }),
  );
