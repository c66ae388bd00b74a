import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
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
import { ApiBodyByType } from '../common/api-document.decorators';
import { ApiErrors } from '../common/api-errors';

class IngestResultDto {
  @ApiProperty({ description: 'Events stored now', example: 2 }) accepted: number;
  @ApiProperty({ description: 'Events whose id was seen before (not counted again)', example: 0 })
  duplicates: number;
}

const CLOUD_EVENT = 'application/cloudevents+json';
const CLOUD_EVENT_BATCH = 'application/cloudevents-batch+json';

/** For the document: the shapes the route takes, by media type. */
const JSON_EVENTS = { oneOf: [forDocument(EVENT_SCHEMA), forDocument(EVENT_BATCH_SCHEMA)] };
const CLOUD_EVENT_SCHEMAS = {
  [CLOUD_EVENT]: forDocument(CLOUD_EVENT_SCHEMA),
  [CLOUD_EVENT_BATCH]: forDocument(CLOUD_EVENT_BATCH_SCHEMA),
};

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
    operationId: 'ingestEvents',
    summary: 'Report usage: one event or {events: [...]} of up to 1000; 202 once durable',
    description:
      'Also CloudEvents 1.0 in structured mode, as OpenMeter takes them: ' +
      '`application/cloudevents+json` (one event) and `application/cloudevents-batch+json` (an ' +
      'array). `id`, `type`, `subject`, `time` and `data` map one to one onto an event; ' +
      '`specversion` must be "1.0"; `source`, `datacontenttype` and `dataschema` are accepted ' +
      'and ignored. A batch is validated whole: one bad event refuses it, naming each bad event ' +
      'by index, and nothing of it is stored. A repeated `id` is counted under `duplicates`.',
  })
  @ApiConsumes('application/json', CLOUD_EVENT, CLOUD_EVENT_BATCH)
  @ApiBody({ schema: JSON_EVENTS })
  @ApiBodyByType({ 'application/json': JSON_EVENTS, ...CLOUD_EVENT_SCHEMAS })
  @ApiAcceptedResponse({ type: IngestResultDto })
  @ApiErrors({
    400: '`validation_failed` (every bad event named by index), `unknown_meter` or `negative_value`; nothing is stored',
    409: '`period_closed`: an event falls in a finalized period',
  })
  ingest(
    @CurrentApiKey() call: ApiKeyCall,
    @Body() body: unknown,
    @Headers('content-type') contentType?: string,
  ): Promise<IngestResult> {
    return this.metering.ingest(call, body, formatOf(contentType));
  }
}
