import { Controller, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { PageQueryDto } from '../common/pagination';
import { CurrentMembership, Roles } from '../orgs/org-role.guard';
import { Membership } from '../orgs/orgs.repository';
import { InvoiceDto, InvoicePageDto, InvoicePeriodQueryDto } from './dto/invoices.dto';
import { InvoicesService } from './invoices.service';
import { ParsePeriodPipe } from './period.pipe';
import { ApiErrors } from '../common/api-errors';

const PERIOD_PARAM = { name: 'period', example: '2026-10', description: 'YYYY-MM (UTC month)' };

@ApiTags('billing')
@Controller('orgs/:orgId/invoices')
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get('preview')
  @Roles('member')
  @ApiOperation({
    operationId: 'previewInvoice',
    summary: 'The invoice of a period as it stands (`status: "draft"`)',
    description:
      "The period's usage (the monthly totals) priced by the org's plan at the end of the period.",
  })
  @ApiOkResponse({ type: InvoiceDto })
  @ApiErrors(400, { 409: "`plan_not_found`: the org's plan no longer exists" })
  preview(
    @CurrentMembership() membership: Membership,
    @Query() query: InvoicePeriodQueryDto,
  ): Promise<InvoiceDto> {
    return this.invoices.preview(membership.orgId, query.period);
  }

  @Get()
  @Roles('member')
  @ApiOperation({
    operationId: 'listInvoices',
    summary: "The org's finalized invoices, newest period first",
  })
  @ApiErrors(400)
  @ApiOkResponse({ type: InvoicePageDto })
  list(
    @CurrentMembership() membership: Membership,
    @Query() page: PageQueryDto,
  ): Promise<InvoicePageDto> {
    return this.invoices.list(membership.orgId, page);
  }

  @Get(':period')
  @Roles('member')
  @ApiParam(PERIOD_PARAM)
  @ApiOperation({ operationId: 'getInvoice', summary: 'The finalized invoice of a period' })
  @ApiOkResponse({ type: InvoiceDto })
  @ApiErrors({
    400: '`validation_failed`: period is not YYYY-MM',
    404: '`invoice_not_found`: not finalized (yet)',
  })
  get(
    @CurrentMembership() membership: Membership,
    @Param('period', ParsePeriodPipe) period: string,
  ): Promise<InvoiceDto> {
    return this.invoices.get(membership.orgId, period);
  }

  @Post(':period/finalize')
  @Roles('owner')
  @ApiParam(PERIOD_PARAM)
  @ApiOperation({
    operationId: 'finalizeInvoice',
    summary: 'Finalize the invoice of an ended period (owners): an immutable snapshot',
    description:
      'Events dated in the period are refused afterwards (409 `period_closed`); later changes to ' +
      'plans or prices never alter it. Every invoice is also finalized automatically ' +
      'INVOICE_GRACE_DAYS after its period ends.',
  })
  @ApiCreatedResponse({ type: InvoiceDto })
  @ApiErrors({
    400: '`validation_failed`: period is not YYYY-MM',
    409: '`period_open` (not ended yet), `invoice_finalized` (a second call) or `plan_not_found`',
  })
  async finalize(
    @CurrentMembership() membership: Membership,
    @Param('period', ParsePeriodPipe) period: string,
  ): Promise<InvoiceDto> {
    return (await this.invoices.finalize(membership.orgId, period, membership))!;
  }
}
