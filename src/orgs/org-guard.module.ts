import { Module } from '@nestjs/common';
import { OrgRoleGuard } from './org-role.guard';
import { OrgsRepository } from './orgs.repository';

/**
 * What a feature module needs to put `@Roles()` on its controllers. Kept apart from OrgsModule
 * so that modules OrgsModule itself uses (the audit log) can import it without a cycle.
 */
@Module({
  providers: [OrgsRepository, OrgRoleGuard],
  exports: [OrgsRepository, OrgRoleGuard],
})
export class OrgGuardModule {}
