import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { AuthUser } from '../common/auth.decorators';
import { AppConfig } from '../config/configuration';
import { UsersService, UserView } from '../users/users.service';
import { AuthError } from './auth.errors';
import { JwtPayload } from './jwt.strategy';
import { LoginFailureTracker } from './login-failures';
import { PasswordHasher } from './password-hasher';

export interface AccessToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly loginFailures: LoginFailureTracker,
  ) {}

  async signup(email: string, password: string): Promise<UserView> {
    return this.users.create(email, await this.hasher.hash(password));
  }

  /**
   * Same answer, and about the same time, for an unknown email and a wrong password. An email with
   * `LOGIN_FAILURES_PER_EMAIL` failures in its 15-minute window is refused (429) before the
   * password is looked at, known or not; a success clears its count.
   */
  async checkCredentials(email: string, password: string): Promise<AuthUser> {
    const attempt = await this.loginFailures.beginAttempt(email);
    if (!attempt.allowed) {
      throw new AuthError(
        'too_many_failed_logins',
        'Too many failed logins for this email; try again later',
        { retryAfterSeconds: attempt.retryAfterSeconds },
      );
    }
    const user = await this.users.findCredentials(email);
    const valid = await this.hasher.verify(user?.passwordHash, password);
    if (!user || !valid) throw new AuthError('invalid_credentials', 'Invalid email or password');
    await this.loginFailures.recordSuccess(email);
    return { id: user.id, email: user.email };
  }

  async issueToken(user: AuthUser): Promise<AccessToken> {
    const { jwtExpiresMinutes } = this.config.get('auth', { infer: true });
    const payload: JwtPayload = { sub: user.id, email: user.email };
    return {
      access_token: await this.jwt.signAsync(payload),
      token_type: 'bearer',
      expires_in: jwtExpiresMinutes * 60,
    };
  }

  async me(user: AuthUser): Promise<UserView> {
    const found = await this.users.findById(user.id);
    if (!found) throw new AuthError('invalid_token', 'A valid bearer token is required');
    return found;
  }
}
