import { Module } from '@nestjs/common';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';

/** The `/v1` surface that SaaS backends call with an API key. */
@Module({
  imports: [RateLimitModule],
  controllers: [GatewayController],
  providers: [GatewayService],
})
export class GatewayModule {}
