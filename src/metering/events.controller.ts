import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentApiKey } from '../api-keys/api-key.guard';
import { VerifiedApiKey } from '../api-keys/api-key-verifier.service';
import { ApiKeyAuth } from '../rate-limit/api-key-auth.decorator';
import { IngestResult, MeteringService } from './metering.service';

class IngestResultDto {
  @ApiProperty({ description: 'Events stored now' }) accepted: number;
  @ApiProperty({ description: 'Events whose id was seen before (not counted again)' })
  duplicates: number;
}

const EVENT_SCHEMA = {
  type: 'object',
  required: ['id', 'type'],
  additionalProperties: false,
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description: 'Idempotency key, unique per org',
    },
    type: { type: 'string', example: 'api_calls', description: 'A meter slug' },
    time: {
      type: 'string',
      format: 'date-time',
      description: 'Default now; ≤ 5 min ahead, ≤ 35 days back',
    },
    subject: { type: 'string', maxLength: 256, description: 'The end customer or resource' },
    data: { type: 'object', description: 'At most 8 KB', additionalProperties: true },
  },
};

@ApiTags('v1')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly metering: MeteringService) {}

  @Post()
  @HttpCode(202)
  @ApiKeyAuth('events:write', { rateLimitedByHandler: true })
  @ApiOperation({
    summary: 'Report usage: one event or {events: [...]} of up to 1000; 202 once durable',
  })
  @ApiBody({
    schema: {
      oneOf: [
        EVENT_SCHEMA,
        {
          type: 'object',
          required: ['events'],
          properties: { events: { type: 'array', maxItems: 1000, items: EVENT_SCHEMA } },
        },
      ],
    },
  })
  @ApiAcceptedResponse({ type: IngestResultDto })
  @ApiBadRequestResponse({
    description: 'The whole batch is refused; `message` names each bad event by index',
  })
  ingest(
    @CurrentApiKey() key: VerifiedApiKey,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<IngestResult> {
    return this.metering.ingest(key, body, response);
  }
}
