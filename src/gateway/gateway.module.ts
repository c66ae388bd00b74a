import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { MeteringModule } from '../metering/metering.module';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';
import { VerifyAnswersRepository } from './verify-answers.repository';

/** The `/v1` calls a SaaS backend makes on each of its own requests: ping and verify. */
@Module({
  imports: [ApiKeysModule, MeteringModule],
  controllers: [GatewayController],
  providers: [GatewayService, VerifyAnswersRepository],
})
export class GatewayModule {}
