import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';
import { PageQueryDto } from '../common/pagination';
import {
  CreatePlanDto,
  PlanDto,
  PlanPageDto,
  PublicPlanPageDto,
  UpdatePlanDto,
} from './dto/plans.dto';
import { PRICE_MODEL_DTOS } from './dto/price-model.dto';
import { PlansService } from './plans.service';
import { PlatformAdmin } from '../users/platform-admin.guard';

@ApiTags('catalogue')
@ApiExtraModels(...PRICE_MODEL_DTOS)
@PlatformAdmin()
@Controller('admin/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Get()
  @ApiOperation({ summary: 'The plans, cheapest first' })
  @ApiOkResponse({ type: PlanPageDto })
  list(@Query() page: PageQueryDto): Promise<PlanPageDto> {
    return this.plans.list(page);
  }

  @Get(':code')
  @ApiParam({ name: 'code', example: 'pro' })
  @ApiOperation({ summary: 'One plan' })
  @ApiOkResponse({ type: PlanDto })
  @ApiNotFoundResponse({ description: '`plan_not_found`' })
  get(@Param('code') code: string): Promise<PlanDto> {
    return this.plans.get(code);
  }

  @Post()
  @ApiOperation({ summary: 'Create a plan' })
  @ApiCreatedResponse({ type: PlanDto })
  @ApiBadRequestResponse({
    description: '`validation_failed` (every problem listed), or `unknown_meter`',
  })
  @ApiConflictResponse({ description: '`plan_exists`: the code is taken' })
  create(@Body() body: CreatePlanDto): Promise<PlanDto> {
    return this.plans.create(body);
  }

  @Put(':code')
  @ApiParam({ name: 'code', example: 'pro' })
  @ApiOperation({
    summary: 'Replace everything but the code; orgs on the plan get its new rate limit at once',
  })
  @ApiOkResponse({ type: PlanDto })
  @ApiBadRequestResponse({
    description: '`validation_failed`, `unknown_meter`, or `immutable_field` (code)',
  })
  @ApiNotFoundResponse({ description: '`plan_not_found`' })
  replace(@Param('code') code: string, @Body() body: UpdatePlanDto): Promise<PlanDto> {
    return this.plans.replace(code, body);
  }
}

@ApiTags('catalogue')
@ApiExtraModels(...PRICE_MODEL_DTOS)
@Controller('plans')
export class PublicPlansController {
  constructor(private readonly plans: PlansService) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'The plans on offer, cheapest first (no sign-in needed)' })
  @ApiOkResponse({ type: PublicPlanPageDto })
  list(@Query() page: PageQueryDto): Promise<PublicPlanPageDto> {
    return this.plans.listPublic(page);
  }
}
