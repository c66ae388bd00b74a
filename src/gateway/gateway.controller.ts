import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyCall, ApiKeyCheck } from '../api-keys/api-key-call';
import { headerRef } from '../common/api-document.decorators';
import { CurrentApiKey, CurrentApiKeyCheck } from '../api-keys/api-key.guard';
import { ApiKeyAuth, Metered } from '../metering/api-key-auth.decorator';
import { GatewayService } from './gateway.service';
import { IdempotencyKey } from './idempotency-key.decorator';
import { VerifyRequestDto, VerifyResultDto } from './verify.dto';

@ApiTags('v1')
@Controller('v1')
export class GatewayController {
  constructor(private readonly gateway: GatewayService) {}

  @Get('ping')
  @Metered('api_calls')
  @ApiOperation({
    operationId: 'ping',
    summary: 'A cheap metered call (meter `api_calls`), for trying a key',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: { pong: { type: 'boolean', enum: [true], example: true } },
      required: ['pong'],
    },
  })
  ping(@CurrentApiKey() call: ApiKeyCall): Promise<{ pong: true }> {
    return this.gateway.ping(call);
  }

  /** Answers 200 for any key, good or bad: the verdict is in the body (as Unkey's verify). */
  @Post('verify')
  @HttpCode(200)
  @ApiKeyAuth({ verdictInBody: true, admittedBy: 'handler' })
  @ApiOperation({
    operationId: 'verifyKey',
    summary:
      'Verify the key in the header (scope `verify`); takes one rate-limit unit, and records `cost` units of `meter` if given',
    description:
      'For an unknown, revoked or expired key the answer is `{valid: false, code}` and nothing else.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: { type: 'string', minLength: 1, maxLength: 255, example: 'order-4711-verify' },
    description:
      '1 to 255 characters: a retry with the same key records nothing more and answers what the first call answered (24 hours)',
  })
  @ApiOkResponse({
    type: VerifyResultDto,
    description: 'The verdict; `RATE_LIMITED` and `QUOTA_EXCEEDED` come with `Retry-After`',
    headers: { 'Retry-After': headerRef('Retry-After') },
  })
  verify(
    @CurrentApiKeyCheck() check: ApiKeyCheck,
    @Body() body: VerifyRequestDto,
    @IdempotencyKey() idempotencyKey?: string,
  ): Promise<VerifyResultDto> {
    return this.gateway.verify(check, body, idempotencyKey);
  }
}
