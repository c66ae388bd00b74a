import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, MaxLength } from 'class-validator';
import { Response } from 'express';
import { ParseIdPipe } from '../common/id-param.pipe';
import { PageOf, PageQueryDto } from '../common/pagination';
import { normalizeEmail } from './email';
import { PlatformAdmin } from './platform-admin.guard';
import { UsersService, UserView } from './users.service';
import { ApiErrors } from '../common/api-errors';

class GrantPlatformAdminDto {
  @ApiProperty({ example: 'ops@example.com', description: 'An existing user' })
  @Transform(({ value }) => normalizeEmail(value))
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;
}

class PlatformAdminDto implements UserView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ops@example.com' }) email: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

class PlatformAdminPageDto extends PageOf(PlatformAdminDto) {}

@ApiTags('catalogue')
@PlatformAdmin()
@Controller('admin/admins')
export class AdminsController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ operationId: 'listPlatformAdmins', summary: 'The platform admins, oldest first' })
  @ApiErrors(400)
  @ApiOkResponse({ type: PlatformAdminPageDto })
  list(@Query() page: PageQueryDto): Promise<PlatformAdminPageDto> {
    return this.users.listPlatformAdmins(page);
  }

  @Post()
  @ApiOperation({
    operationId: 'grantPlatformAdmin',
    summary: 'Make an existing user a platform admin (201), or confirm one (200)',
  })
  @ApiCreatedResponse({ type: PlatformAdminDto, description: 'Granted' })
  @ApiOkResponse({ type: PlatformAdminDto, description: 'Already a platform admin' })
  @ApiErrors(400, { 404: '`user_not_found`' })
  async grant(
    @Body() body: GrantPlatformAdminDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PlatformAdminDto> {
    const { user, granted } = await this.users.grantPlatformAdmin(body.email);
    res.status(granted ? 201 : 200);
    return user;
  }

  @Delete(':userId')
  @HttpCode(204)
  @ApiParam({ name: 'userId', format: 'uuid' })
  @ApiOperation({
    operationId: 'revokePlatformAdmin',
    summary: "Take a user's platform admin flag away",
  })
  @ApiNoContentResponse()
  @ApiErrors({
    404: '`user_not_found`: no platform admin with this id',
    409: '`last_platform_admin`: the platform keeps at least one',
  })
  revoke(@Param('userId', ParseIdPipe) userId: string): Promise<void> {
    return this.users.revokePlatformAdmin(userId);
  }
}
