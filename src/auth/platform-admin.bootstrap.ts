import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/configuration';
import { UsersError } from '../users/users.errors';
import { UsersService } from '../users/users.service';
import { PasswordHasher } from './password-hasher';

/**
 * `PLATFORM_ADMIN_EMAIL` + `PLATFORM_ADMIN_PASSWORD`, applied at start: the account is created with
 * that password and flagged when it does not exist yet, and flagged when it exists with that same
 * password. An existing account whose password differs is left alone, with an error in the log:
 * whoever signed up first with that address does not become an admin by it.
 */
@Injectable()
export class PlatformAdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('PlatformAdmin');

  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.get('auth', { infer: true }).platformAdmin;
    if (admin) await this.ensure(admin.email, admin.password);
  }

  private async ensure(email: string, password: string): Promise<void> {
    const existing = await this.users.findCredentials(email);
    if (!existing) {
      try {
        await this.users.create(email, await this.hasher.hash(password), true);
        this.logger.log('Created the platform admin account of PLATFORM_ADMIN_EMAIL');
        return;
      } catch (error) {
        // Another instance starting at the same time created it: check it as an existing one.
        if (!(error instanceof UsersError && error.code === 'email_taken')) throw error;
        return this.ensure(email, password);
      }
    }
    if (!(await this.hasher.verify(existing.passwordHash, password))) {
      this.logger.error(
        'PLATFORM_ADMIN_EMAIL names an existing account whose password differs from ' +
          'PLATFORM_ADMIN_PASSWORD: it was left alone (grant it with `admin grant` if it is yours)',
      );
      return;
    }
    const { granted } = await this.users.grantPlatformAdmin(email);
    if (granted) this.logger.log('Flagged the account of PLATFORM_ADMIN_EMAIL as platform admin');
  }
}
