import { ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import { PlatformAdminGuard } from './platform-admin.guard';
import { UsersError } from './users.errors';
import { UsersService } from './users.service';

const ADMINS = new Set(['admin-1']);
const guard = new PlatformAdminGuard({
  isPlatformAdmin: async (id: string) => ADMINS.has(id),
} as unknown as UsersService);

const contextFor = (user?: { id: string; email: string }) =>
  ({
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  }) as unknown as ExecutionContext;

describe('PlatformAdminGuard', () => {
  it('lets a flagged user through', async () => {
    await expect(
      guard.canActivate(contextFor({ id: 'admin-1', email: 'ops@example.com' })),
    ).resolves.toBe(true);
  });

  it('refuses any other user with 403 platform_admin_required, whatever its email', async () => {
    await expect(
      guard.canActivate(contextFor({ id: 'user-2', email: 'ops@example.com' })),
    ).rejects.toMatchObject({ code: 'platform_admin_required', status: 403 });
    await expect(
      guard.canActivate(contextFor({ id: 'user-2', email: 'x@y.z' })),
    ).rejects.toBeInstanceOf(UsersError);
  });

  it('is loud (500) on a route without JWT authentication', async () => {
    await expect(guard.canActivate(contextFor(undefined))).rejects.toBeInstanceOf(
      InternalServerErrorException,
    );
  });
});
