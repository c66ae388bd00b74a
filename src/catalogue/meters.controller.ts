import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { PageQueryDto } from '../common/pagination';
import { CreateMeterDto, MeterDto, MeterPageDto, UpdateMeterDto } from './dto/meters.dto';
import { MetersService } from './meters.service';
import { PlatformAdmin } from '../users/platform-admin.guard';

@ApiTags('catalogue')
@PlatformAdmin()
@Controller('admin/meters')
export class MetersController {
  constructor(private readonly meters: MetersService) {}

  @Get()
  @ApiOperation({ summary: 'The meters, by slug' })
  @ApiOkResponse({ type: MeterPageDto })
  list(@Query() page: PageQueryDto): Promise<MeterPageDto> {
    return this.meters.list(page);
  }

  @Get(':slug')
  @ApiParam({ name: 'slug', example: 'api_calls' })
  @ApiOperation({ summary: 'One meter' })
  @ApiOkResponse({ type: MeterDto })
  @ApiNotFoundResponse({ description: '`meter_not_found`' })
  get(@Param('slug') slug: string): Promise<MeterDto> {
    return this.meters.get(slug);
  }

  @Post()
  @ApiOperation({ summary: 'Create a meter; its slug and aggregation never change afterwards' })
  @ApiCreatedResponse({ type: MeterDto })
  @ApiConflictResponse({ description: '`meter_exists`: the slug is taken' })
  create(@Body() body: CreateMeterDto): Promise<MeterDto> {
    return this.meters.create(body);
  }

  @Put(':slug')
  @ApiParam({ name: 'slug', example: 'api_calls' })
  @ApiOperation({ summary: "Replace a meter's name and groupBy" })
  @ApiOkResponse({ type: MeterDto })
  @ApiBadRequestResponse({ description: '`immutable_field`: slug, aggregation or valueProperty' })
  @ApiNotFoundResponse({ description: '`meter_not_found`' })
  update(@Param('slug') slug: string, @Body() body: UpdateMeterDto): Promise<MeterDto> {
    return this.meters.update(slug, body);
  }
}
