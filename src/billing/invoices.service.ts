import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { CatalogueCache } from '../catalogue/catalogue-cache';
import { Plan } from '../catalogue/catalogue.types';
import { decodeCursor, Page, PageQueryDto, toPage } from '../common/pagination';
import { currentPeriod, PERIOD_PATTERN, periodBounds } from '../common/period';
import { MeteringService } from '../metering/metering.service';
import { OrgsService } from '../orgs/orgs.service';
import { UsageService } from '../usage/usage.service';
import { WebhooksService } from '../webhooks/webhooks.service';
import { BillingError } from './billing.errors';
import { InvoiceDto } from './dto/invoices.dto';
import { priceInvoice } from './invoice-pricing';
import { InvoiceRow, InvoicesRepository } from './invoices.repository';

/** Who finalizes: an org owner through the API, or the job once the grace days have passed. */
export type Finalizer = { userId: string } | 'job';

function toInvoiceDto(row: InvoiceRow): InvoiceDto {
  return {
    id: row.id,
    orgId: row.orgId,
    period: row.period,
    status: 'finalized',
    finalizedAt: row.finalizedAt.toISOString(),
    plan: row.plan,
    currency: row.currency,
    baseFee: Number(row.baseFee),
    lines: row.lines,
    subtotal: Number(row.subtotal),
    total: Number(row.total),
  };
}

const notFound = (period: string) =>
  new BillingError('invoice_not_found', `No finalized invoice for ${period}`);

/**
 * Invoices: the draft of a period as it stands (the org's usage priced by its plan at the end of
 * the period), and its finalization into an immutable snapshot. Finalizing closes the period in
 * the same transaction (no late event can enter it afterwards, none in flight is missed) and
 * writes `invoice.finalized` to the webhook outbox, so each invoice is made, and announced,
 * exactly once.
 */
@Injectable()
export class InvoicesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly invoices: InvoicesRepository,
    private readonly usage: UsageService,
    private readonly orgs: OrgsService,
    private readonly catalogue: CatalogueCache,
    private readonly metering: MeteringService,
    private readonly webhooks: WebhooksService,
    private readonly audit: AuditService,
  ) {}

  async preview(orgId: string, period = currentPeriod()): Promise<InvoiceDto> {
    const plan = await this.planAtEndOf(orgId, period);
    const quantities = await this.usage.periodValues(orgId, period);
    return { orgId, period, status: 'draft', ...priceInvoice(plan, quantities) };
  }

  async get(orgId: string, period: string): Promise<InvoiceDto> {
    const row = await this.invoices.findInvoice(orgId, period);
    if (!row) throw notFound(period);
    return toInvoiceDto(row);
  }

  async list(orgId: string, page: PageQueryDto): Promise<Page<InvoiceDto>> {
    const after = decodeCursor(page.cursor, [PERIOD_PATTERN] as const);
    const rows = await this.invoices.listInvoices(orgId, page.limit, after?.[0]);
    return toPage(rows, page.limit, (r) => [r.period], toInvoiceDto);
  }

  /**
   * Finalizes the org's invoice of an ended period: 409 `period_open` before it has ended,
   * `invoice_finalized` when it is final already. The job passes `skipIfBusy`: an invoice another
   * instance is finalizing right now is left to it (null).
   */
  async finalize(
    orgId: string,
    period: string,
    by: Finalizer,
    options: { skipIfBusy?: boolean } = {},
  ): Promise<InvoiceDto | null> {
    if (period >= currentPeriod())
      throw new BillingError('period_open', `${period} has not ended yet`);
    // Read before the transaction: neither changes for an ended period, and the transaction must
    // not wait on another connection (a database of one connection would wait forever).
    const plan = await this.planAtEndOf(orgId, period);
    const meters = await this.catalogue.meterMap();
    return this.dataSource.transaction(async (manager) => {
      if (await this.invoices.invoiceExists(manager, orgId, period)) throw finalized(period);
      if (!(await this.metering.closePeriod(manager, orgId, period, options))) return null;
      const quantities = await this.usage.periodValues(orgId, period, { manager, meters });
      const row = await this.invoices.insertInvoice(
        manager,
        orgId,
        period,
        priceInvoice(plan, quantities),
      );
      if (!row) throw finalized(period);
      await this.webhooks.enqueue(
        manager,
        orgId,
        'invoice.finalized',
        { orgId, period, invoiceId: row.id, total: Number(row.total), currency: row.currency },
        `invoice.finalized:${row.id}`,
      );
      await this.audit.record(manager, orgId, {
        actorUserId: by === 'job' ? null : by.userId,
        action: 'invoice.finalized',
        targetType: 'invoice',
        targetId: row.id,
        meta: { period, total: Number(row.total), currency: row.currency },
      });
      return toInvoiceDto(row);
    });
  }

  /** The plan the org was on at the end of the period (or now, for the current one). */
  private async planAtEndOf(orgId: string, period: string): Promise<Plan> {
    const end = periodBounds(period).to;
    const at = end.getTime() < Date.now() ? end : new Date();
    const code = await this.orgs.planCodeAt(orgId, at);
    if (!code) throw new BillingError('plan_not_found', 'The organization has no plan');
    const plan = await this.catalogue.plan(code);
    if (!plan) throw new BillingError('plan_not_found', `The plan ${code} no longer exists`);
    return plan;
  }
}

const finalized = (period: string) =>
  new BillingError('invoice_finalized', `The invoice of ${period} is finalized already`);
