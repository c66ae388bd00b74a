import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuditModule } from '../audit/audit.module';
import { OrgGuardModule } from '../orgs/org-guard.module';
import { MetersController } from './meters.controller';
import { MetersRepository } from './meters.repository';
import { MetersService } from './meters.service';
import { OrgPlanController } from './org-plan.controller';
import { PlansController, PublicPlansController } from './plans.controller';
import { PlansRepository } from './plans.repository';
import { PlansService } from './plans.service';
import { PlatformAdminGuard } from './platform-admin.guard';

/**
 * The operator's catalogue (meters and plans, managed by platform admins), the public plan list,
 * and moving an org between plans. Exports the services metering, quotas and billing read it with.
 */
@Module({
  imports: [ApiKeysModule, AuditModule, OrgGuardModule],
  controllers: [MetersController, PlansController, PublicPlansController, OrgPlanController],
  providers: [MetersRepository, MetersService, PlansRepository, PlansService, PlatformAdminGuard],
  exports: [MetersService, PlansService],
})
export class CatalogueModule {}
