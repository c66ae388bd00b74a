import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ParseIdPipe } from '../common/id-param.pipe';
import { PageQueryDto } from '../common/pagination';
import { CurrentMembership, Roles } from '../orgs/org-role.guard';
import { Membership } from '../orgs/orgs.repository';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  WebhookDeliveryPageDto,
  WebhookPageDto,
} from './dto/webhooks.dto';
import { WebhooksService } from './webhooks.service';
import { ApiErrors } from '../common/api-errors';

@ApiTags('webhooks')
@Controller('orgs/:orgId/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({
    operationId: 'createWebhook',
    summary: 'Add a webhook endpoint; its signing secret is in this response only',
    description:
      'Messages follow the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, ' +
      '`webhook-signature` headers; body `{type, timestamp, data}`): verify them with any ' +
      'Standard Webhooks library and the secret.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  @ApiErrors({
    400: '`webhook_url_forbidden` or `validation_failed`',
    409: '`too_many_webhooks`',
  })
  create(
    @CurrentMembership() membership: Membership,
    @Body() body: CreateWebhookDto,
  ): Promise<CreatedWebhookDto> {
    return this.webhooks.create(membership, body);
  }

  @Get()
  @Roles('admin')
  @ApiOperation({
    operationId: 'listWebhooks',
    summary: "The org's webhook endpoints, newest first (never a secret)",
  })
  @ApiErrors(400)
  @ApiOkResponse({ type: WebhookPageDto })
  list(
    @CurrentMembership() membership: Membership,
    @Query() page: PageQueryDto,
  ): Promise<WebhookPageDto> {
    return this.webhooks.list(membership.orgId, page);
  }

  @Delete(':webhookId')
  @HttpCode(204)
  @Roles('admin')
  @ApiParam({ name: 'webhookId', format: 'uuid' })
  @ApiOperation({
    operationId: 'deleteWebhook',
    summary: 'Remove an endpoint (its pending deliveries stop)',
  })
  @ApiNoContentResponse()
  @ApiErrors({ 404: '`webhook_not_found`' })
  remove(
    @CurrentMembership() membership: Membership,
    @Param('webhookId', ParseIdPipe) webhookId: string,
  ): Promise<void> {
    return this.webhooks.remove(membership, webhookId);
  }

  @Get(':webhookId/deliveries')
  @Roles('admin')
  @ApiParam({ name: 'webhookId', format: 'uuid' })
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary: "An endpoint's deliveries, newest first, with their retry state",
  })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiErrors(400, { 404: '`webhook_not_found`' })
  deliveries(
    @CurrentMembership() membership: Membership,
    @Param('webhookId', ParseIdPipe) webhookId: string,
    @Query() page: PageQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    return this.webhooks.deliveries(membership.orgId, webhookId, page);
  }
}
