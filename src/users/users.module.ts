import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminsController } from './admins.controller';
import { PlatformAdminGuard } from './platform-admin.guard';
import { UserEntity } from './user.entity';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** Accounts, and the platform admin flag (with its guard and `/admin/admins`). */
@Module({
  imports: [TypeOrmModule.forFeature([UserEntity])],
  controllers: [AdminsController],
  providers: [UsersRepository, UsersService, PlatformAdminGuard],
  exports: [UsersService, PlatformAdminGuard],
})
export class UsersModule {}
