import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyCall } from '../api-keys/api-key-call';
import { CurrentApiKey } from '../api-keys/api-key.guard';
import { ApiKeyAuth } from '../metering/api-key-auth.decorator';
import { UsageSummaryDto, UsageSummaryQueryDto } from './dto/usage.dto';
import { REPORT_TIMEOUT, SUMMARY_DESCRIPTION } from './usage.controller';
import { UsageService } from './usage.service';
import { ApiErrors } from '../common/api-errors';

@ApiTags('v1')
@Controller('v1/usage')
export class UsageV1Controller {
  constructor(private readonly usage: UsageService) {}

  @Get('summary')
  @ApiKeyAuth({ scope: 'usage:read' })
  @ApiOperation({
    operationId: 'getKeyUsageSummary',
    summary: "Usage of every meter in a billing period, for the key's org (scope `usage:read`)",
    description: `The same as GET /orgs/{orgId}/usage/summary. ${SUMMARY_DESCRIPTION}`,
  })
  @ApiOkResponse({ type: UsageSummaryDto })
  @ApiErrors({ 400: '`validation_failed`: period is not YYYY-MM', ...REPORT_TIMEOUT })
  summary(
    @CurrentApiKey() call: ApiKeyCall,
    @Query() query: UsageSummaryQueryDto,
  ): Promise<UsageSummaryDto> {
    return this.usage.summary(call.key.orgId, query.period);
  }
}
