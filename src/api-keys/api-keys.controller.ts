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
import { ApiKeysService } from './api-keys.service';
import {
  ApiKeyPageDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  RotateApiKeyDto,
} from './dto/api-keys.dto';
import { ApiErrors } from '../common/api-errors';

@ApiTags('api-keys')
@Controller('orgs/:orgId/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Issue a key; the secret is in this response only',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrors({
    400: "`validation_failed`, or `rate_limit_above_plan`: the key's rate exceeds the plan's",
  })
  create(
    @CurrentMembership() membership: Membership,
    @Body() body: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    return this.apiKeys.create(membership, body);
  }

  @Get()
  @Roles('member')
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: "The org's keys, newest first (never a secret)",
  })
  @ApiErrors(400)
  @ApiOkResponse({ type: ApiKeyPageDto })
  list(
    @CurrentMembership() membership: Membership,
    @Query() page: PageQueryDto,
  ): Promise<ApiKeyPageDto> {
    return this.apiKeys.list(membership.orgId, page);
  }

  @Delete(':keyId')
  @HttpCode(204)
  @Roles('admin')
  @ApiParam({ name: 'keyId', format: 'uuid' })
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke a key: it stops working on every instance within a second',
  })
  @ApiNoContentResponse()
  @ApiErrors({ 404: '`api_key_not_found`' })
  revoke(
    @CurrentMembership() membership: Membership,
    @Param('keyId', ParseIdPipe) keyId: string,
  ): Promise<void> {
    return this.apiKeys.revoke(membership, keyId);
  }

  @Post(':keyId/rotate')
  @Roles('admin')
  @ApiParam({ name: 'keyId', format: 'uuid' })
  @ApiOperation({
    operationId: 'rotateApiKey',
    summary:
      'Replace a key with a new one of the same settings; the old one lasts for the grace period',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrors(400, {
    404: '`api_key_not_found`',
    409: '`key_revoked` or `key_expired`: only a live key is rotated',
  })
  rotate(
    @CurrentMembership() membership: Membership,
    @Param('keyId', ParseIdPipe) keyId: string,
    @Body() body: RotateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    return this.apiKeys.rotate(membership, keyId, body.gracePeriodSeconds ?? 0);
  }
}
