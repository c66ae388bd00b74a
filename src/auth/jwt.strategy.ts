import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { isUUID } from 'class-validator';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AuthUser } from '../common/auth.decorators';
import { AppConfig } from '../config/configuration';
import { UsersService } from '../users/users.service';

/** Who issues user tokens and for whom (RFC 8725): a token of another service is refused. */
export const JWT_ISSUER = 'metering-platform';
export const JWT_AUDIENCE = 'metering-platform-api';

export interface JwtPayload {
  sub: string;
  email: string;
  exp?: number;
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly users: UsersService,
  ) {
    const auth = config.get('auth', { infer: true });
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: auth.jwtSecret,
      // Pinned: a token signed with any other algorithm (`none` included) is refused.
      algorithms: [auth.jwtAlgorithm],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  /**
   * A well-signed token must still carry an expiry (jsonwebtoken does not require one) and name a
   * user that exists: a deleted user's token is refused. Anything else is 401, never a query on it.
   */
  async validate(payload: Partial<JwtPayload>): Promise<AuthUser | null> {
    if (typeof payload.exp !== 'number') return null;
    if (typeof payload.sub !== 'string' || !isUUID(payload.sub)) return null;
    return this.users.findExisting(payload.sub);
  }
}
