import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditEventPageDto } from '../audit/audit.dto';
import { AuditService } from '../audit/audit.service';
import { PageQueryDto } from '../common/pagination';
import { CurrentMembership, Roles } from './org-role.guard';
import { Membership } from './orgs.repository';
import { ApiErrors } from '../common/api-errors';

@ApiTags('audit')
@Controller('orgs/:orgId/audit-events')
export class AuditEventsController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles('admin')
  @ApiOperation({ operationId: 'listAuditEvents', summary: "The org's audit log, newest first" })
  @ApiErrors(400)
  @ApiOkResponse({ type: AuditEventPageDto })
  list(
    @CurrentMembership() membership: Membership,
    @Query() page: PageQueryDto,
  ): Promise<AuditEventPageDto> {
    return this.audit.list(membership.orgId, page);
  }
}
