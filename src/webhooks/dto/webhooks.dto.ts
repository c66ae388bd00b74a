import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  MaxLength,
} from 'class-validator';
import { PageOf } from '../../common/pagination';
import { MAX_WEBHOOK_URL_LENGTH } from '../webhook-url';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../webhook-signing';

export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://example.com/webhooks/metering',
    maxLength: MAX_WEBHOOK_URL_LENGTH,
    description:
      'https; in production a public address (checked again after DNS at each delivery), unless WEBHOOK_ALLOW_PRIVATE_URLS',
  })
  @IsString()
  @MaxLength(MAX_WEBHOOK_URL_LENGTH)
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, example: ['quota.threshold'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events: WebhookEventType[];
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'https://example.com/webhooks/metering' }) url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true }) events: WebhookEventType[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'Signs every message (Standard Webhooks). Shown this once: store it now.',
  })
  secret: string;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    example: 'msg_2b8f6c0e9a4d4e5f8a1b2c3d4e5f6a7b',
    description: 'The message id, sent as `webhook-id` (the same on every attempt)',
  })
  eventId: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES }) type: WebhookEventType;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: (typeof DELIVERY_STATUSES)[number];
  @ApiProperty({ example: 1 }) attempts: number;
  @ApiProperty({ type: Number, nullable: true, example: 200 }) lastStatusCode: number | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the next attempt is due; null once delivered or failed',
  })
  nextAttemptAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class WebhookPageDto extends PageOf(WebhookDto) {}
export class WebhookDeliveryPageDto extends PageOf(WebhookDeliveryDto) {}
