import { Body, Controller, Get, HttpCode, Post, Req, Res, SetMetadata } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { AUTH_KIND, AuthKind } from '../common/auth.decorators';
import { Metered } from '../metering/metered';
import { GatewayService } from './gateway.service';
import { VerifyRequestDto, VerifyResultDto } from './verify.dto';

@ApiTags('v1')
@Controller('v1')
export class GatewayController {
  constructor(private readonly gateway: GatewayService) {}

  @Get('ping')
  @Metered('api_calls')
  @ApiOperation({ summary: 'A cheap metered call (meter `api_calls`), for trying a key' })
  @ApiOkResponse({ schema: { example: { pong: true } } })
  ping(): { pong: true } {
    return { pong: true };
  }

  /** Answers 200 for any key, good or bad: the verdict is in the body (as Unkey's verify). */
  @Post('verify')
  @HttpCode(200)
  @SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind)
  @ApiSecurity('api-key')
  @ApiOperation({
    summary:
      'Verify the key in the header (scope `verify`); takes one rate-limit unit, and records `cost` units of `meter` if given',
  })
  @ApiOkResponse({ type: VerifyResultDto })
  verify(
    @Req() request: Request,
    @Body() body: VerifyRequestDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<VerifyResultDto> {
    return this.gateway.verify(request.headers, body, response);
  }
}
