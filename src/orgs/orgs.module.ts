import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { MembersController } from './members.controller';
import { MembersService } from './members.service';
import { OrgGuardModule } from './org-guard.module';
import { OrgsController } from './orgs.controller';
import { OrgsService } from './orgs.service';

@Module({
  imports: [UsersModule, OrgGuardModule, AuditModule],
  controllers: [OrgsController, MembersController],
  providers: [OrgsService, MembersService],
})
export class OrgsModule {}
