import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKeyVerifier } from '../api-keys/api-key-verifier.service';
import { AuditService } from '../audit/audit.service';
import { PageQueryDto } from '../common/pagination';
import { isUniqueViolation } from '../database/database-errors';
import { OrgResponseDto } from '../orgs/dto/orgs.dto';
import { orgNotFound } from '../orgs/org-role.guard';
import { Membership } from '../orgs/orgs.repository';
import { toOrgResponse } from '../orgs/orgs.service';
import { decodePlanCursor, encodePlanCursor, toCataloguePage } from './catalogue-cursor';
import { Plan } from './catalogue.types';
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
  new NotFoundException({ code: 'plan_not_found', message: `No plan "${code}"` });

const planCursor = (plan: Plan) => encodePlanCursor({ baseFee: plan.baseFee, code: plan.code });

/**
 * Plans (rate limit, monthly quota and price per meter) and moving an org between them. Cached
 * API-key credentials carry their plan's rate limit, so every change that can alter a key's limit
 * invalidates them after commit.
 */
@Injectable()
export class PlansService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly plans: PlansRepository,
    private readonly meters: MetersService,
    private readonly audit: AuditService,
    private readonly verifier: ApiKeyVerifier,
  ) {}

  async list(page: PageQueryDto): Promise<PlanPageDto> {
    const rows = await this.plans.listPlans(page.limit, decodePlanCursor(page.cursor));
    return toCataloguePage(rows, page.limit, planCursor, toPlanDto);
  }

  async listPublic(page: PageQueryDto): Promise<PublicPlanPageDto> {
    const rows = await this.plans.listPlans(page.limit, decodePlanCursor(page.cursor));
    return toCataloguePage(rows, page.limit, planCursor, toPublicPlanDto);
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
        throw new ConflictException({
          code: 'plan_exists',
          message: `A plan "${body.code}" already exists`,
        });
      throw error;
    }
  }

  /** Replaces everything but the code. Orgs on the plan get its new limits at once. */
  async replace(code: string, body: UpdatePlanDto): Promise<PlanDto> {
    if (body.code !== undefined && body.code !== code) {
      throw new BadRequestException({
        code: 'immutable_field',
        message: ['code cannot change after a plan is created'],
      });
    }
    const content = await this.checkedContent(body);
    const plan = await this.plans.replacePlan(code, content);
    if (!plan) throw planNotFound(code);
    await this.verifier.invalidate({ all: true });
    return toPlanDto(plan);
  }

  /** Moves the org to `planCode`, audited in the same transaction; a no-op when it is on it. */
  async changeOrgPlan(actor: Membership, planCode: string): Promise<OrgResponseDto> {
    const { org, changed } = await this.dataSource.transaction(async (manager) => {
      const current = await this.plans.lockOrg(manager, actor.orgId);
      if (!current) throw orgNotFound();
      if (!(await this.plans.lockPlanExists(manager, planCode))) throw planNotFound(planCode);
      if (current.planCode === planCode) return { org: current, changed: false };
      await this.plans.setOrgPlan(manager, actor.orgId, planCode);
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'org.plan_changed',
        targetType: 'org',
        targetId: actor.orgId,
        meta: { from: current.planCode, to: planCode },
      });
      return { org: { ...current, planCode }, changed: true };
    });
    if (changed) await this.verifier.invalidate({ orgId: actor.orgId });
    return toOrgResponse({ ...org, role: actor.role });
  }

  /** For quotas and billing: the plan the org is on, with its meters; null for no such org. */
  findPlanForOrg(orgId: string): Promise<Plan | null> {
    return this.plans.findPlanOfOrg(orgId);
  }

  /** For quotas and billing: a plan by code, or null. */
  findByCode(code: string): Promise<Plan | null> {
    return this.plans.findPlan(code);
  }

  /** The body as stored, once every meter it names is known to exist. */
  private async checkedContent(body: PlanContentDto): Promise<PlanContent> {
    const unknown = new Set(await this.meters.findUnknownSlugs(body.meters.map((m) => m.meter)));
    if (unknown.size > 0) {
      throw new BadRequestException({
        code: 'unknown_meter',
        message: body.meters.flatMap((m, i) =>
          unknown.has(m.meter) ? [`meters.${i}.meter: there is no meter "${m.meter}"`] : [],
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
