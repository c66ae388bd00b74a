import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { requireOrgId } from '../database/tenant-scope';
import { isUniqueViolation } from '../database/database-errors';
import { PricedInvoice } from './invoice-pricing';

/** A finalized invoice as stored: an immutable snapshot. */
export interface InvoiceRow extends Omit<PricedInvoice, 'baseFee' | 'subtotal' | 'total'> {
  id: string;
  orgId: string;
  period: string;
  finalizedAt: Date;
  /** bigint columns arrive as strings. */
  baseFee: string | number;
  subtotal: string | number;
  total: string | number;
}

const INVOICE_COLUMNS = `id, org_id AS "orgId", period, finalized_at AS "finalizedAt", plan, currency,
  base_fee AS "baseFee", lines, subtotal, total`;

@Injectable()
export class InvoicesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Stores the snapshot; null when the org's invoice for the period exists already. */
  async insertInvoice(
    manager: EntityManager,
    orgId: string,
    period: string,
    invoice: PricedInvoice,
  ): Promise<InvoiceRow | null> {
    try {
      const [row] = await manager.query(
        `INSERT INTO invoices (org_id, period, plan, currency, base_fee, lines, subtotal, total)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING ${INVOICE_COLUMNS}`,
        [
          requireOrgId(orgId),
          period,
          JSON.stringify(invoice.plan),
          invoice.currency,
          invoice.baseFee,
          JSON.stringify(invoice.lines),
          invoice.subtotal,
          invoice.total,
        ],
      );
      return row;
    } catch (error) {
      if (isUniqueViolation(error, 'invoices_org_period_key')) return null;
      throw error;
    }
  }

  async invoiceExists(manager: EntityManager, orgId: string, period: string): Promise<boolean> {
    const rows = await manager.query(`SELECT 1 FROM invoices WHERE org_id = $1 AND period = $2`, [
      requireOrgId(orgId),
      period,
    ]);
    return rows.length > 0;
  }

  async findInvoice(orgId: string, period: string): Promise<InvoiceRow | null> {
    const rows: InvoiceRow[] = await this.dataSource.query(
      `SELECT ${INVOICE_COLUMNS} FROM invoices WHERE org_id = $1 AND period = $2`,
      [requireOrgId(orgId), period],
    );
    return rows[0] ?? null;
  }

  /** The org's invoices, newest period first, `limit + 1` rows after `afterPeriod`. */
  listInvoices(orgId: string, limit: number, afterPeriod?: string): Promise<InvoiceRow[]> {
    return this.dataSource.query(
      `SELECT ${INVOICE_COLUMNS} FROM invoices
        WHERE org_id = $1 AND ($2::text IS NULL OR period < $2::text)
        ORDER BY period DESC
        LIMIT $3`,
      [requireOrgId(orgId), afterPeriod ?? null, limit + 1],
    );
  }

  /**
   * Orgs to invoice for the period that have no invoice for it yet: those that existed in it
   * (created before `end`) and those with usage dated in it (sent up to 35 days late).
   */
  listOrgsAwaitingInvoice(period: string, end: Date, limit: number): Promise<{ id: string }[]> {
    return this.dataSource.query(
      `SELECT o.id FROM orgs o
        WHERE (o.created_at < $2
               OR EXISTS (SELECT 1 FROM usage_period_totals t
                           WHERE t.org_id = o.id AND t.period = ($1 || '-01T00:00:00Z')::timestamptz))
          AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.org_id = o.id AND i.period = $1)
        ORDER BY o.id
        LIMIT $3`,
      [period, end.toISOString(), limit],
    );
  }
}
