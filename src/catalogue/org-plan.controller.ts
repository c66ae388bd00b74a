import { Body, Controller, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OrgResponseDto } from '../orgs/dto/orgs.dto';
import { CurrentMembership, Roles } from '../orgs/org-role.guard';
import { Membership } from '../orgs/orgs.repository';
import { ChangeOrgPlanDto } from './dto/plans.dto';
import { PlansService } from './plans.service';

@ApiTags('orgs')
@Controller('orgs/:orgId/plan')
export class OrgPlanController {
  constructor(private readonly plans: PlansService) {}

  @Put()
  @Roles('owner')
  @ApiOperation({
    summary:
      "Move the org to another plan (owners). Its keys get the plan's rate limit at once. " +
      'An unknown plan is 404 `plan_not_found`.',
  })
  @ApiOkResponse({ type: OrgResponseDto })
  change(
    @CurrentMembership() membership: Membership,
    @Body() body: ChangeOrgPlanDto,
  ): Promise<OrgResponseDto> {
    return this.plans.changeOrgPlan(membership, body.plan);
  }
}
