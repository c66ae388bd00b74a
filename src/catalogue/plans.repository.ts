import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { requireOrgId } from '../database/tenant-scope';
import { RateLimit } from '../limits/rate-limit';
import { Plan, PlanMeter } from './catalogue.types';

export interface PlanContent {
  name: string;
  currency: string;
  baseFee: number;
  rateLimit: RateLimit;
  meters: PlanMeter[];
}

interface PlanRow {
  code: string;
  name: string;
  currency: string;
  /** bigint: the driver answers a string. */
  baseFee: string;
  rateLimit: number;
  rateLimitPeriodSeconds: number;
  meters: PlanMeter[];
  createdAt: Date;
  updatedAt: Date;
}

const PLAN_COLUMNS = `p.code, p.name, p.currency, p.base_fee AS "baseFee", p.rate_limit AS "rateLimit",
  p.rate_limit_period_seconds AS "rateLimitPeriodSeconds", p.meters,
  p.created_at AS "createdAt", p.updated_at AS "updatedAt"`;

function toPlan(row: PlanRow): Plan {
  return {
    code: row.code,
    name: row.name,
    currency: row.currency,
    baseFee: Number(row.baseFee),
    rateLimit: { limit: row.rateLimit, periodSeconds: row.rateLimitPeriodSeconds },
    meters: row.meters,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * The operator's plans. A plan's meters (quota, enforcement, price) are one jsonb document,
 * validated on write: they are always read and written with the plan.
 */
@Injectable()
export class PlansRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Plans cheapest first (then by code), `limit + 1` rows after `after`. */
  async listPlans(limit: number, after?: readonly [number, string]): Promise<Plan[]> {
    const rows: PlanRow[] = await this.dataSource.query(
      `SELECT ${PLAN_COLUMNS} FROM plans p
        WHERE $1::bigint IS NULL OR (p.base_fee, p.code) > ($1::bigint, $2::text)
        ORDER BY p.base_fee, p.code
        LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
    return rows.map(toPlan);
  }

  async findPlan(code: string): Promise<Plan | null> {
    const rows: PlanRow[] = await this.dataSource.query(
      `SELECT ${PLAN_COLUMNS} FROM plans p WHERE p.code = $1`,
      [code],
    );
    return rows[0] ? toPlan(rows[0]) : null;
  }

  /** The plan the org is on. */
  async findPlanOfOrg(orgId: string): Promise<Plan | null> {
    const rows: PlanRow[] = await this.dataSource.query(
      `SELECT ${PLAN_COLUMNS} FROM orgs o JOIN plans p ON p.code = o.plan_code WHERE o.id = $1`,
      [requireOrgId(orgId)],
    );
    return rows[0] ? toPlan(rows[0]) : null;
  }

  /** Throws Postgres' unique violation (`plans_pkey`) when the code is taken. */
  async insertPlan(code: string, plan: PlanContent): Promise<Plan> {
    const [row]: PlanRow[] = await this.dataSource.query(
      `INSERT INTO plans AS p (code, name, currency, base_fee, rate_limit, rate_limit_period_seconds, meters)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       RETURNING ${PLAN_COLUMNS}`,
      [code, ...contentParams(plan)],
    );
    return toPlan(row);
  }

  /** Replaces everything but the code; null when there is no such plan. */
  async replacePlan(code: string, plan: PlanContent): Promise<Plan | null> {
    // TypeORM answers a top-level UPDATE with [rows, affected count].
    const [rows]: [PlanRow[], number] = await this.dataSource.query(
      `UPDATE plans AS p
          SET name = $2, currency = $3, base_fee = $4, rate_limit = $5,
              rate_limit_period_seconds = $6, meters = $7::jsonb,
              updated_at = date_trunc('milliseconds', clock_timestamp())
        WHERE p.code = $1
        RETURNING ${PLAN_COLUMNS}`,
      [code, ...contentParams(plan)],
    );
    return rows[0] ? toPlan(rows[0]) : null;
  }
}

function contentParams(plan: PlanContent): unknown[] {
  return [
    plan.name,
    plan.currency,
    plan.baseFee,
    plan.rateLimit.limit,
    plan.rateLimit.periodSeconds,
    JSON.stringify(plan.meters),
  ];
}
