import { Module } from '@nestjs/common';
import { MeteringModule } from '../metering/metering.module';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';

/** The `/v1` surface that SaaS backends call with an API key. */
@Module({
  imports: [MeteringModule],
  controllers: [GatewayController],
  providers: [GatewayService],
})
export class GatewayModule {}
