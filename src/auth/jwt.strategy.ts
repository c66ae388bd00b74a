import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { isUUID } from 'class-validator';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/configuration';
import { AuthUser } from '../common/auth.decorators';

export interface JwtPayload {
  sub: string;
  email: string;
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(config: ConfigService<AppConfig, true>) {
    const auth = config.get('auth', { infer: true });
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: auth.jwtSecret,
      // Pinned: a token signed with any other algorithm (`none` included) is refused.
      algorithms: [auth.jwtAlgorithm],
      ignoreExpiration: false,
    });
  }

  /** A well-signed token must still name a user id: anything else is 401, never a query on it. */
  validate(payload: Partial<JwtPayload>): AuthUser | null {
    if (typeof payload.sub !== 'string' || !isUUID(payload.sub)) return null;
    if (typeof payload.email !== 'string') return null;
    return { id: payload.sub, email: payload.email };
  }
}
