import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { OrgsModule } from '../orgs/orgs.module';
import { WebhookWorker } from './webhook-worker.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/**
 * Outgoing notifications: endpoints per org, the Postgres outbox (written by the transactions
 * that cause messages: usage crossing a quota threshold, an invoice finalized) and its worker.
 */
@Module({
  imports: [OrgsModule, AuditModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhooksRepository, WebhookWorker],
  exports: [WebhooksService],
})
export class WebhooksModule {}
