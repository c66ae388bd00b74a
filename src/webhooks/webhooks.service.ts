import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { decodeCursor, NEWEST_FIRST, Page, PageQueryDto, toPage } from '../common/pagination';
import { AppConfig } from '../config/configuration';
import { Membership } from '../orgs/orgs.repository';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  WebhookDeliveryDto,
  WebhookDto,
} from './dto/webhooks.dto';
import { generateWebhookSecret } from './webhook-secret';
import { WebhookEventData, WebhookEventType } from './webhook-signing';
import { checkWebhookUrl } from './webhook-url';
import { WebhooksError } from './webhooks.errors';
import { DeliveryRow, EndpointRow, WebhooksRepository } from './webhooks.repository';

/** Endpoints an org may have: enough for real use, few enough that fan-out stays cheap. */
export const MAX_WEBHOOKS_PER_ORG = 20;

function toWebhookDto(row: EndpointRow): WebhookDto {
  return { id: row.id, url: row.url, events: row.events, createdAt: row.createdAt.toISOString() };
}

function toDeliveryDto(row: DeliveryRow): WebhookDeliveryDto {
  return {
    id: row.id,
    eventId: row.messageId,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
  };
}

const notFound = () => new WebhooksError('webhook_not_found', 'Webhook not found');

/**
 * An org's webhook endpoints and the outbox their messages go through. A message is written in
 * the transaction of the change that causes it (`enqueue`), so none is lost and none doubled;
 * WebhookWorker delivers it.
 */
@Injectable()
export class WebhooksService {
  private readonly allowPrivate: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly webhooks: WebhooksRepository,
    private readonly audit: AuditService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.allowPrivate = config.get('webhooks', { infer: true }).allowPrivateUrls;
  }

  async create(actor: Membership, body: CreateWebhookDto): Promise<CreatedWebhookDto> {
    const check = await checkWebhookUrl(body.url, { allowPrivate: this.allowPrivate });
    if (!check.ok) throw new WebhooksError('webhook_url_forbidden', check.reason);
    const secret = generateWebhookSecret();
    const row = await this.dataSource.transaction(async (manager) => {
      if ((await this.webhooks.lockEndpoints(manager, actor.orgId)) >= MAX_WEBHOOKS_PER_ORG) {
        throw new WebhooksError(
          'too_many_webhooks',
          `An org has at most ${MAX_WEBHOOKS_PER_ORG} webhook endpoints`,
        );
      }
      const created = await this.webhooks.insertEndpoint(manager, actor.orgId, {
        url: body.url,
        events: body.events,
        secret,
      });
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'webhook.created',
        targetType: 'webhook',
        targetId: created.id,
        meta: { url: created.url, events: created.events },
      });
      return created;
    });
    return { ...toWebhookDto(row), secret };
  }

  async list(orgId: string, page: PageQueryDto): Promise<Page<WebhookDto>> {
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.webhooks.listEndpoints(orgId, page.limit, after);
    return toPage(rows, page.limit, (r) => [r.createdAt, r.id], toWebhookDto);
  }

  async remove(actor: Membership, webhookId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (!(await this.webhooks.deleteEndpoint(manager, actor.orgId, webhookId))) throw notFound();
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'webhook.deleted',
        targetType: 'webhook',
        targetId: webhookId,
      });
    });
  }

  async deliveries(
    orgId: string,
    webhookId: string,
    page: PageQueryDto,
  ): Promise<Page<WebhookDeliveryDto>> {
    if (!(await this.webhooks.endpointExists(orgId, webhookId))) throw notFound();
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.webhooks.listDeliveries(orgId, webhookId, page.limit, after);
    return toPage(rows, page.limit, (r) => [r.createdAt, r.id], toDeliveryDto);
  }

  /** Writes a message in `manager`'s transaction; once per `dedupeKey`, whatever retries. */
  enqueue<T extends WebhookEventType>(
    manager: EntityManager,
    orgId: string,
    type: T,
    data: WebhookEventData[T],
    dedupeKey: string,
  ): Promise<void> {
    return this.webhooks.enqueue(manager, orgId, type, data, dedupeKey);
  }
}
