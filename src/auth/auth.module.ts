import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/configuration';
import { LimitsModule } from '../limits/limits.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { JwtAuthGuard } from './auth.guards';
import { AuthService } from './auth.service';
import {
  AuthThrottleBackendModule,
  authThrottlerOptions,
  FailSafeThrottlerStorage,
} from './auth-throttle';
import { JWT_AUDIENCE, JWT_ISSUER, JwtStrategy } from './jwt.strategy';
import { LocalStrategy } from './local.strategy';
import { LoginFailureTracker } from './login-failures';
import { PasswordHasher } from './password-hasher';
import { PlatformAdminBootstrap } from './platform-admin.bootstrap';

@Module({
  imports: [
    UsersModule,
    LimitsModule,
    PassportModule,
    JwtModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => {
        const auth = config.get('auth', { infer: true });
        return {
          secret: auth.jwtSecret,
          signOptions: {
            algorithm: auth.jwtAlgorithm,
            expiresIn: auth.jwtExpiresMinutes * 60,
            issuer: JWT_ISSUER,
            audience: JWT_AUDIENCE,
          },
          verifyOptions: {
            algorithms: [auth.jwtAlgorithm],
            issuer: JWT_ISSUER,
            audience: JWT_AUDIENCE,
          },
        };
      },
    }),
    AuthThrottleBackendModule,
    // Provides the `auth` throttler; its guard is applied to sign-up and login only.
    ThrottlerModule.forRootAsync({
      imports: [AuthThrottleBackendModule],
      inject: [ConfigService, FailSafeThrottlerStorage],
      useFactory: authThrottlerOptions,
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    PasswordHasher,
    JwtStrategy,
    LocalStrategy,
    LoginFailureTracker,
    PlatformAdminBootstrap,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
