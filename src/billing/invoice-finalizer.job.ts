import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { currentPeriod, periodBounds, shiftPeriod } from '../common/period';
import { AppConfig } from '../config/configuration';
import { BillingError } from './billing.errors';
import { InvoicesRepository } from './invoices.repository';
import { InvoicesService } from './invoices.service';

const DAY_MS = 24 * 3600_000;
/** Ended periods looked at by each sweep (more than one, in case the job was down a while). */
const PERIODS_BACK = 3;
const ORGS_PER_PAGE = 100;

/**
 * Finalizes every org's invoice for a period `INVOICE_GRACE_DAYS` after it ends, whichever
 * instance runs first. Exactly once without a job table or a global lock: the invoice row itself is
 * the job's record — unique per (org, period) and written in the transaction that closes the
 * period — so instances sweeping together race per org, the one holding the period finalizes it
 * and the others skip it (`skipIfBusy`) or find it done; a sweep that dies midway is resumed by
 * the next one from what is still missing.
 */
@Injectable()
export class InvoiceFinalizer implements OnApplicationBootstrap {
  private readonly logger = new Logger(InvoiceFinalizer.name);
  private readonly graceDays: number;
  private readonly intervalMs: number;
  private running = false;

  constructor(
    private readonly invoices: InvoicesService,
    private readonly repository: InvoicesRepository,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AppConfig, true>,
  ) {
    const billing = config.get('billing', { infer: true });
    this.graceDays = billing.invoiceGraceDays;
    this.intervalMs = billing.jobIntervalSeconds * 1000;
  }

  /** Every INVOICE_JOB_INTERVAL_SECONDS (the registry clears it when the app closes). */
  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.finalizeDue(), this.intervalMs);
    this.scheduler.addInterval(InvoiceFinalizer.name, timer);
  }

  /** The ended periods whose grace days are over at `now`, oldest first. */
  duePeriods(now: Date): string[] {
    const current = currentPeriod(now);
    const periods: string[] = [];
    for (let back = PERIODS_BACK; back >= 1; back--) {
      const period = shiftPeriod(current, -back);
      if (periodBounds(period).to.getTime() + this.graceDays * DAY_MS <= now.getTime())
        periods.push(period);
    }
    return periods;
  }

  async finalizeDue(now = new Date()): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let finalized = 0;
    try {
      for (const period of this.duePeriods(now)) finalized += await this.sweep(period);
    } catch (error) {
      this.logger.warn(`Invoice finalization paused: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
    if (finalized) this.logger.log(`Finalized ${finalized} invoice(s)`);
    return finalized;
  }

  private async sweep(period: string): Promise<number> {
    const end = periodBounds(period).to;
    let finalized = 0;
    const skipped = new Set<string>();
    for (;;) {
      const orgs = (await this.repository.listOrgsAwaitingInvoice(period, end, ORGS_PER_PAGE))
        .map((o) => o.id)
        .filter((id) => !skipped.has(id));
      if (orgs.length === 0) return finalized;
      for (const orgId of orgs) {
        try {
          const invoice = await this.invoices.finalize(orgId, period, 'job', { skipIfBusy: true });
          if (invoice) finalized++;
          else skipped.add(orgId);
        } catch (error) {
          if (!(error instanceof BillingError)) throw error;
          // Finalized meanwhile by someone else, or nothing to bill: never retried in this sweep.
          skipped.add(orgId);
        }
      }
    }
  }
}
