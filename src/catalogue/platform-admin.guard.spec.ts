import { ExecutionContext, ForbiddenException, InternalServerErrorException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/configuration';
import { PlatformAdminGuard } from './platform-admin.guard';

const guard = new PlatformAdminGuard({
  get: () => ({ platformAdminEmails: ['ops@example.com', 'root@example.com'] }),
} as unknown as ConfigService<AppConfig, true>);

const contextFor = (user?: { id: string; email: string }) =>
  ({
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  }) as unknown as ExecutionContext;

describe('PlatformAdminGuard', () => {
  it.each(['ops@example.com', 'root@example.com', 'Ops@Example.com'])(
    'lets %s through',
    (email) => {
      expect(guard.canActivate(contextFor({ id: 'u', email }))).toBe(true);
    },
  );

  it('refuses any other user with 403 platform_admin_required', () => {
    try {
      guard.canActivate(contextFor({ id: 'u', email: 'ops@example.org' }));
      throw new Error('not refused');
    } catch (error) {
      expect(error).toBeInstanceOf(ForbiddenException);
      expect((error as ForbiddenException).getResponse()).toMatchObject({
        code: 'platform_admin_required',
      });
    }
  });

  it('is loud (500) on a route without JWT authentication', () => {
    expect(() => guard.canActivate(contextFor(undefined))).toThrow(InternalServerErrorException);
  });
});
