import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { PageQueryDto } from '../common/pagination';
import { CreateMeterDto, MeterDto, MeterPageDto, UpdateMeterDto } from './dto/meters.dto';
import { MetersService } from './meters.service';
import { PlatformAdmin } from '../users/platform-admin.guard';
import { ApiErrors } from '../common/api-errors';

@ApiTags('catalogue')
@PlatformAdmin()
@Controller('admin/meters')
export class MetersController {
  constructor(private readonly meters: MetersService) {}

  @Get()
  @ApiOperation({ operationId: 'listMeters', summary: 'The meters, by slug' })
  @ApiErrors(400)
  @ApiOkResponse({ type: MeterPageDto })
  list(@Query() page: PageQueryDto): Promise<MeterPageDto> {
    return this.meters.list(page);
  }

  @Get(':slug')
  @ApiParam({ name: 'slug', example: 'api_calls' })
  @ApiOperation({ operationId: 'getMeter', summary: 'One meter' })
  @ApiOkResponse({ type: MeterDto })
  @ApiErrors({ 404: '`meter_not_found`' })
  get(@Param('slug') slug: string): Promise<MeterDto> {
    return this.meters.get(slug);
  }

  @Post()
  @ApiOperation({
    operationId: 'createMeter',
    summary: 'Create a meter; its slug and aggregation never change afterwards',
  })
  @ApiCreatedResponse({ type: MeterDto })
  @ApiErrors(400, { 409: '`meter_exists`: the slug is taken' })
  create(@Body() body: CreateMeterDto): Promise<MeterDto> {
    return this.meters.create(body);
  }

  @Put(':slug')
  @ApiParam({ name: 'slug', example: 'api_calls' })
  @ApiOperation({ operationId: 'updateMeter', summary: "Replace a meter's name and groupBy" })
  @ApiOkResponse({ type: MeterDto })
  @ApiErrors({
    400: '`validation_failed`, or `immutable_field`: slug, aggregation or valueProperty',
    404: '`meter_not_found`',
  })
  update(@Param('slug') slug: string, @Body() body: UpdateMeterDto): Promise<MeterDto> {
    return this.meters.update(slug, body);
  }
}
