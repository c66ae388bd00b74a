import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { CatalogueCache } from './catalogue-cache';
import { MetersController } from './meters.controller';
import { MetersRepository } from './meters.repository';
import { MetersService } from './meters.service';
import { PlansController, PublicPlansController } from './plans.controller';
import { PlansRepository } from './plans.repository';
import { PlansService } from './plans.service';

/**
 * The operator's catalogue (meters and plans, managed by platform admins) and the public plan
 * list. Exports the cached read of it that metering, quotas and billing use on the request path.
 */
@Module({
  imports: [UsersModule],
  controllers: [MetersController, PlansController, PublicPlansController],
  providers: [MetersRepository, MetersService, PlansRepository, PlansService, CatalogueCache],
  exports: [CatalogueCache, PlansService],
})
export class CatalogueModule {}
