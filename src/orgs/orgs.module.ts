import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { MembersController } from './members.controller';
import { MembersService } from './members.service';
import { OrgRoleGuard } from './org-role.guard';
import { OrgsController } from './orgs.controller';
import { OrgsRepository } from './orgs.repository';
import { OrgsService } from './orgs.service';

@Module({
  imports: [UsersModule],
  controllers: [OrgsController, MembersController],
  providers: [OrgsRepository, OrgsService, MembersService, OrgRoleGuard],
  exports: [OrgsRepository, OrgRoleGuard],
})
export class OrgsModule {}
