import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AuditEventsController } from './audit-events.controller';
import { MembersController } from './members.controller';
import { MembersService } from './members.service';
import { OrgPlanController } from './org-plan.controller';
import { OrgRoleGuard } from './org-role.guard';
import { OrgsController } from './orgs.controller';
import { OrgsRepository } from './orgs.repository';
import { OrgsService } from './orgs.service';

/**
 * Orgs, members and roles, the org's plan and its audit log. Exports what `@Roles()` needs, so
 * that any feature module importing this one can guard its org-scoped routes.
 */
@Module({
  imports: [UsersModule, AuditModule],
  controllers: [OrgsController, MembersController, OrgPlanController, AuditEventsController],
  providers: [OrgsService, MembersService, OrgsRepository, OrgRoleGuard],
  exports: [OrgsRepository, OrgRoleGuard, OrgsService],
})
export class OrgsModule {}
