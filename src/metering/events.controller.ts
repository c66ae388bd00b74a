import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiConflictResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyCall } from '../api-keys/api-key-call';
import { CurrentApiKey } from '../api-keys/api-key.guard';
import { ApiKeyAuth } from './api-key-auth.decorator';
import {
  CLOUD_EVENT_BATCH_SCHEMA,
  CLOUD_EVENT_SCHEMA,
  EVENT_BATCH_SCHEMA,
  EVENT_SCHEMA,
  forDocument,
} from './event-schema';
import { EventFormat } from './event-validation';
import { IngestResult, MeteringService } from './metering.service';

class IngestResultDto {
  @ApiProperty({ description: 'Events stored now', example: 2 }) accepted: number;
  @ApiProperty({ description: 'Events whose id was seen before (not counted again)', example: 0 })
  duplicates: number;
}

const CLOUD_EVENT = 'application/cloudevents+json';
const CLOUD_EVENT_BATCH = 'application/cloudevents-batch+json';

function formatOf(contentType: string | undefined): EventFormat {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === CLOUD_EVENT) return 'cloudevent';
  if (type === CLOUD_EVENT_BATCH) return 'cloudevent-batch';
  return 'json';
}

@ApiTags('v1')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly metering: MeteringService) {}

  @Post()
  @HttpCode(202)
  @ApiKeyAuth({
    scope: 'events:write',
    admittedBy: 'handler',
    // A batch of 1000 events of up to 8 KB each needs more room than the default.
    body: { limit: '10mb', jsonTypes: [CLOUD_EVENT, CLOUD_EVENT_BATCH] },
  })
  @ApiOperation({
    summary: 'Report usage: one event or {events: [...]} of up to 1000; 202 once durable',
    description:
      'Also CloudEvents 1.0 in structured mode: `application/cloudevents+json` (one event) and ' +
      '`application/cloudevents-batch+json` (an array); `specversion` must be "1.0", `source` and ' +
      '`datacontenttype` are accepted and ignored. A batch is validated whole: one bad event ' +
      'refuses it, naming each bad event by index, and nothing of it is stored.',
  })
  @ApiConsumes('application/json', CLOUD_EVENT, CLOUD_EVENT_BATCH)
  @ApiBody({
    schema: { oneOf: [forDocument(EVENT_SCHEMA), forDocument(EVENT_BATCH_SCHEMA)] },
  })
  @ApiAcceptedResponse({ type: IngestResultDto })
  @ApiBadRequestResponse({
    description:
      '`validation_failed` (every bad event named by index) or `negative_value`; nothing is stored',
  })
  @ApiConflictResponse({ description: '`period_closed`: an event falls in a finalized period' })
  ingest(
    @CurrentApiKey() call: ApiKeyCall,
    @Body() body: unknown,
    @Headers('content-type') contentType?: string,
  ): Promise<IngestResult> {
    return this.metering.ingest(call, body, formatOf(contentType));
  }
}

/** For the document: the CloudEvents shapes the same route takes. */
export const CLOUD_EVENT_SCHEMAS = {
  [CLOUD_EVENT]: forDocument(CLOUD_EVENT_SCHEMA),
  [CLOUD_EVENT_BATCH]: forDocument(CLOUD_EVENT_BATCH_SCHEMA),
};
