import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentMembership, Roles } from '../orgs/org-role.guard';
import { Membership } from '../orgs/orgs.repository';
import { EventPageDto, EventsQueryDto } from './dto/usage.dto';
import { EventsReportService } from './events-report.service';
import { ApiErrors } from '../common/api-errors';
import { REPORT_TIMEOUT } from './usage.controller';

@ApiTags('usage')
@Controller('orgs/:orgId/events')
export class EventsListController {
  constructor(private readonly events: EventsReportService) {}

  @Get()
  @Roles('member')
  @ApiOperation({
    operationId: 'listEvents',
    summary: "The org's stored events, newest first",
    description: 'Filter by `type` (meter), `subject`, `from` (inclusive) and `to` (exclusive).',
  })
  @ApiOkResponse({ type: EventPageDto })
  @ApiErrors(400, REPORT_TIMEOUT)
  list(
    @CurrentMembership() membership: Membership,
    @Query() query: EventsQueryDto,
  ): Promise<EventPageDto> {
    return this.events.list(membership.orgId, query);
  }
}
