import { Body, Controller, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ChangeOrgPlanDto, OrgResponseDto } from './dto/orgs.dto';
import { CurrentMembership, Roles } from './org-role.guard';
import { Membership } from './orgs.repository';
import { OrgsService } from './orgs.service';
import { ApiErrors } from '../common/api-errors';

@ApiTags('orgs')
@Controller('orgs/:orgId/plan')
export class OrgPlanController {
  constructor(private readonly orgs: OrgsService) {}

  @Put()
  @Roles('owner')
  @ApiOperation({
    operationId: 'changeOrgPlan',
    summary:
      "Move the org to another plan (owners). Its keys get the plan's rate limit at once. " +
      'An unknown plan is 404 `plan_not_found`.',
  })
  @ApiOkResponse({ type: OrgResponseDto })
  @ApiErrors(400, { 404: '`plan_not_found`' })
  change(
    @CurrentMembership() membership: Membership,
    @Body() body: ChangeOrgPlanDto,
  ): Promise<OrgResponseDto> {
    return this.orgs.changePlan(membership, body.plan);
  }
}
