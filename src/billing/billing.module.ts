import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { MeteringModule } from '../metering/metering.module';
import { OrgsModule } from '../orgs/orgs.module';
import { UsageModule } from '../usage/usage.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { InvoiceFinalizer } from './invoice-finalizer.job';
import { InvoicesController } from './invoices.controller';
import { InvoicesRepository } from './invoices.repository';
import { InvoicesService } from './invoices.service';

/** Usage turned into money: invoice previews, finalized invoices and the job that closes periods. */
@Module({
  imports: [OrgsModule, AuditModule, CatalogueModule, MeteringModule, UsageModule, WebhooksModule],
  controllers: [InvoicesController],
  providers: [InvoicesService, InvoicesRepository, InvoiceFinalizer],
})
export class BillingModule {}
