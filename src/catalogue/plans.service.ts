import { Injectable } from '@nestjs/common';
import { decodeCursor, PageQueryDto, toPage } from '../common/pagination';
import { isUniqueViolation } from '../database/database-errors';
import { CatalogueCache } from './catalogue-cache';
import { CatalogueError } from './catalogue.errors';
import { Plan, PLAN_CODE } from './catalogue.types';
import {
  CreatePlanDto,
  PlanContentDto,
  PlanDto,
  PlanPageDto,
  PublicPlanDto,
  PublicPlanPageDto,
  UpdatePlanDto,
} from './dto/plans.dto';
import { MetersService } from './meters.service';
import { PlanContent, PlansRepository } from './plans.repository';

export function toPublicPlanDto(plan: Plan): PublicPlanDto {
  return {
    code: plan.code,
    name: plan.name,
    currency: plan.currency,
    baseFee: plan.baseFee,
    rateLimit: { limit: plan.rateLimit.limit, periodSeconds: plan.rateLimit.periodSeconds },
    meters: plan.meters.map((m) => ({
      meter: m.meter,
      included: m.included,
      enforcement: m.enforcement,
      price: m.price,
    })),
  };
}

export function toPlanDto(plan: Plan): PlanDto {
  return {
    ...toPublicPlanDto(plan),
    createdAt: plan.createdAt.toISOString(),
    updatedAt: plan.updatedAt.toISOString(),
  };
}

export const planNotFound = (code: string) =>
  new CatalogueError('plan_not_found', `No plan "${code}"`);

/** Plans are listed cheapest first, then by code. */
const PLAN_ORDER = ['integer', PLAN_CODE] as const;
const planSortKey = (plan: Plan) => [plan.baseFee, plan.code];

/**
 * Plans: a rate limit shared by each org's keys, and per meter a monthly quota and a price. The
 * request path reads them through CatalogueCache, so a change reaches every instance within its
 * TTL (this one at once).
 */
@Injectable()
export class PlansService {
  constructor(
    private readonly plans: PlansRepository,
    private readonly meters: MetersService,
    private readonly cache: CatalogueCache,
  ) {}

  async list(page: PageQueryDto): Promise<PlanPageDto> {
    const rows = await this.plans.listPlans(page.limit, decodeCursor(page.cursor, PLAN_ORDER));
    return toPage(rows, page.limit, planSortKey, toPlanDto);
  }

  async listPublic(page: PageQueryDto): Promise<PublicPlanPageDto> {
    const rows = await this.plans.listPlans(page.limit, decodeCursor(page.cursor, PLAN_ORDER));
    return toPage(rows, page.limit, planSortKey, toPublicPlanDto);
  }

  async get(code: string): Promise<PlanDto> {
    const plan = await this.plans.findPlan(code);
    if (!plan) throw planNotFound(code);
    return toPlanDto(plan);
  }

  async create(body: CreatePlanDto): Promise<PlanDto> {
    const content = await this.checkedContent(body);
    try {
      return toPlanDto(await this.plans.insertPlan(body.code, content));
    } catch (error) {
      if (isUniqueViolation(error, 'plans_pkey'))
        throw new CatalogueError('plan_exists', `A plan "${body.code}" already exists`);
      throw error;
    }
  }

  /** Replaces everything but the code. Orgs on the plan get its new limits at once. */
  async replace(code: string, body: UpdatePlanDto): Promise<PlanDto> {
    if (body.code !== undefined && body.code !== code) {
      throw new CatalogueError('immutable_field', 'A plan keeps its code', {
        problems: [{ field: 'code', message: 'code cannot change after a plan is created' }],
      });
    }
    const content = await this.checkedContent(body);
    const plan = await this.plans.replacePlan(code, content);
    if (!plan) throw planNotFound(code);
    this.cache.clear();
    return toPlanDto(plan);
  }

  /** For quotas and billing: the plan the org is on, with its meters; null for no such org. */
  findPlanForOrg(orgId: string): Promise<Plan | null> {
    return this.plans.findPlanOfOrg(orgId);
  }

  /** The body as stored, once every meter it names is known to exist. */
  private async checkedContent(body: PlanContentDto): Promise<PlanContent> {
    const unknown = new Set(await this.meters.findUnknownSlugs(body.meters.map((m) => m.meter)));
    if (unknown.size > 0) {
      throw new CatalogueError('unknown_meter', 'The plan names meters that do not exist', {
        problems: body.meters.flatMap((m, i) =>
          unknown.has(m.meter)
            ? [
                {
                  field: `meters.${i}.meter`,
                  message: `meters.${i}.meter: there is no meter "${m.meter}"`,
                },
              ]
            : [],
        ),
      });
    }
    return {
      name: body.name,
      currency: body.currency,
      baseFee: body.baseFee,
      rateLimit: { limit: body.rateLimit.limit, periodSeconds: body.rateLimit.periodSeconds },
      meters: body.meters.map((m) => ({
        meter: m.meter,
        included: m.included,
        enforcement: m.enforcement,
        price: m.price,
      })),
    };
  }
}
