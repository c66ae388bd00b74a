import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimiterService } from './rate-limiter.service';

/** Everything a module needs for `@ApiKeyAuth()` routes: key verification and the limiter. */
@Module({
  imports: [ApiKeysModule],
  providers: [RateLimiterService, RateLimitGuard],
  exports: [ApiKeysModule, RateLimiterService, RateLimitGuard],
})
export class RateLimitModule {}
