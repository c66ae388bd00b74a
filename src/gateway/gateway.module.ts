import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';

/** The `/v1` surface that SaaS backends call with an API key. */
@Module({
  imports: [ApiKeysModule],
  controllers: [GatewayController],
  providers: [GatewayService],
})
export class GatewayModule {}
