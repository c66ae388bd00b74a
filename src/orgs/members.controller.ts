import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Response } from 'express';
import { ParseIdPipe } from '../common/id-param.pipe';
import { PageQueryDto } from '../common/pagination';
import { AddMemberDto, ChangeRoleDto, MemberPageDto, MemberResponseDto } from './dto/orgs.dto';
import { CurrentMembership, Roles } from './org-role.guard';
import { Membership } from './orgs.repository';
import { MembersService } from './members.service';
import { ApiErrors } from '../common/api-errors';

@ApiTags('orgs')
@Controller('orgs/:orgId/members')
export class MembersController {
  constructor(private readonly members: MembersService) {}

  @Get()
  @Roles('member')
  @ApiOperation({ operationId: 'listMembers', summary: "The org's members" })
  @ApiErrors(400)
  @ApiOkResponse({ type: MemberPageDto })
  list(
    @CurrentMembership() membership: Membership,
    @Query() page: PageQueryDto,
  ): Promise<MemberPageDto> {
    return this.members.list(membership.orgId, page);
  }

  @Post()
  @Roles('admin')
  @ApiOperation({
    operationId: 'addMember',
    summary: 'Add a user by email (201), or change the role of an existing member (200)',
  })
  @ApiErrors(400, {
    403: '`owner_required`: only an owner grants or takes away `owner`',
    404: '`user_not_found`: no user with this email',
    409: '`last_owner`: the last owner cannot be demoted',
  })
  @ApiCreatedResponse({ type: MemberResponseDto, description: 'Added' })
  @ApiOkResponse({ type: MemberResponseDto, description: 'Role changed' })
  async add(
    @CurrentMembership() membership: Membership,
    @Body() body: AddMemberDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MemberResponseDto> {
    const { member, created } = await this.members.addOrChangeRole(
      membership,
      body.email,
      body.role,
    );
    res.status(created ? 201 : 200);
    return member;
  }

  @Patch(':userId')
  @Roles('admin')
  @ApiParam({ name: 'userId', format: 'uuid' })
  @ApiOperation({ operationId: 'changeMemberRole', summary: "Change a member's role" })
  @ApiOkResponse({ type: MemberResponseDto })
  @ApiErrors(400, {
    403: '`owner_required`: only an owner grants or takes away `owner`',
    404: '`member_not_found`',
    409: '`last_owner`: the last owner cannot be demoted',
  })
  changeRole(
    @CurrentMembership() membership: Membership,
    @Param('userId', ParseIdPipe) userId: string,
    @Body() body: ChangeRoleDto,
  ): Promise<MemberResponseDto> {
    return this.members.changeRole(membership, userId, body.role);
  }

  @Delete(':userId')
  @HttpCode(204)
  @Roles('member')
  @ApiParam({ name: 'userId', format: 'uuid' })
  @ApiOperation({
    operationId: 'removeMember',
    summary: 'Remove a member (admins), or leave the org (anyone, for themself)',
  })
  @ApiNoContentResponse()
  @ApiErrors({
    403: '`insufficient_role` (removing someone else needs admin) or `owner_required`',
    404: '`member_not_found`',
    409: '`last_owner`: the last owner cannot be removed',
  })
  remove(
    @CurrentMembership() membership: Membership,
    @Param('userId', ParseIdPipe) userId: string,
  ): Promise<void> {
    return this.members.remove(membership, userId);
  }
}
