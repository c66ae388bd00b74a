import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiExtraModels,
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
import { ApiErrors } from '../common/api-errors';

@ApiTags('catalogue')
@ApiExtraModels(...PRICE_MODEL_DTOS)
@PlatformAdmin()
@Controller('admin/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Get()
  @ApiOperation({ operationId: 'listPlans', summary: 'The plans, cheapest first' })
  @ApiErrors(400)
  @ApiOkResponse({ type: PlanPageDto })
  list(@Query() page: PageQueryDto): Promise<PlanPageDto> {
    return this.plans.list(page);
  }

  @Get(':code')
  @ApiParam({ name: 'code', example: 'pro' })
  @ApiOperation({ operationId: 'getPlan', summary: 'One plan' })
  @ApiOkResponse({ type: PlanDto })
  @ApiErrors({ 404: '`plan_not_found`' })
  get(@Param('code') code: string): Promise<PlanDto> {
    return this.plans.get(code);
  }

  @Post()
  @ApiOperation({ operationId: 'createPlan', summary: 'Create a plan' })
  @ApiCreatedResponse({ type: PlanDto })
  @ApiErrors({
    400: '`validation_failed` (every problem listed), or `unknown_meter`',
    409: '`plan_exists`: the code is taken',
  })
  create(@Body() body: CreatePlanDto): Promise<PlanDto> {
    return this.plans.create(body);
  }

  @Put(':code')
  @ApiParam({ name: 'code', example: 'pro' })
  @ApiOperation({
    operationId: 'replacePlan',
    summary: 'Replace everything but the code; orgs on the plan get its new rate limit at once',
  })
  @ApiOkResponse({ type: PlanDto })
  @ApiErrors({
    400: '`validation_failed`, `unknown_meter`, or `immutable_field` (code)',
    404: '`plan_not_found`',
  })
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
  @ApiOperation({
    operationId: 'listPublicPlans',
    summary: 'The plans on offer, cheapest first (no sign-in needed)',
  })
  @ApiErrors(400)
  @ApiOkResponse({ type: PublicPlanPageDto })
  list(@Query() page: PageQueryDto): Promise<PublicPlanPageDto> {
    return this.plans.listPublic(page);
  }
}
