import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../common/auth.decorators';
import { PageQueryDto } from '../common/pagination';
import { CreateOrgDto, OrgPageDto, OrgResponseDto } from './dto/orgs.dto';
import { CurrentMembership, Roles } from './org-role.guard';
import { Membership } from './orgs.repository';
import { OrgsService } from './orgs.service';
import { ApiErrors, ApiUserAuth } from '../common/api-errors';

@ApiTags('orgs')
@Controller('orgs')
export class OrgsController {
  constructor(private readonly orgs: OrgsService) {}

  @Post()
  @ApiUserAuth()
  @ApiOperation({
    operationId: 'createOrg',
    summary: 'Create an org; the caller becomes its owner',
  })
  @ApiErrors(400)
  @ApiCreatedResponse({ type: OrgResponseDto })
  create(@CurrentUser() user: AuthUser, @Body() body: CreateOrgDto): Promise<OrgResponseDto> {
    return this.orgs.create(user.id, body.name);
  }

  @Get()
  @ApiUserAuth()
  @ApiOperation({
    operationId: 'listOrgs',
    summary: "The caller's orgs, newest first, each with the caller's role",
  })
  @ApiErrors(400)
  @ApiOkResponse({ type: OrgPageDto })
  list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<OrgPageDto> {
    return this.orgs.listForUser(user.id, page);
  }

  @Get(':orgId')
  @Roles('member')
  @ApiOperation({ operationId: 'getOrg', summary: 'One org' })
  @ApiOkResponse({ type: OrgResponseDto })
  get(@CurrentMembership() membership: Membership): Promise<OrgResponseDto> {
    return this.orgs.getForMember(membership.orgId, membership.userId);
  }
}
