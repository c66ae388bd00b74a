import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { NewestFirst } from '../common/pagination';
import { requireOrgId } from '../database/tenant-scope';
import { OrgRole } from './org-roles';

/** An org as one of its members sees it. */
export interface OrgWithRole {
  id: string;
  name: string;
  planCode: string;
  role: OrgRole;
  createdAt: Date;
}

export interface MemberRow {
  userId: string;
  email: string;
  role: OrgRole;
  createdAt: Date;
}

export interface Membership {
  orgId: string;
  userId: string;
  role: OrgRole;
}

const ORG_COLUMNS = `o.id, o.name, o.plan_code AS "planCode", m.role, o.created_at AS "createdAt"`;

/** Orgs and their memberships. Every read of org data is scoped by `orgId`. */
@Injectable()
export class OrgsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertOrgWithOwner(
    manager: EntityManager,
    name: string,
    ownerId: string,
  ): Promise<OrgWithRole> {
    const [org] = await manager.query(
      `INSERT INTO orgs (name) VALUES ($1) RETURNING id, name, plan_code AS "planCode", created_at AS "createdAt"`,
      [name],
    );
    await manager.query(
      `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'owner')`,
      [org.id, ownerId],
    );
    await manager.query(
      `INSERT INTO org_plan_changes (org_id, changed_at, plan_code) VALUES ($1, $2, $3)`,
      [org.id, org.createdAt, org.planCode],
    );
    return { ...org, role: 'owner' };
  }

  /** The user's orgs, newest first, `limit + 1` rows after `after`. */
  listOrgsOfUser(userId: string, limit: number, after?: NewestFirst): Promise<OrgWithRole[]> {
    return this.dataSource.query(
      `SELECT ${ORG_COLUMNS}
         FROM org_members m JOIN orgs o ON o.id = m.org_id
        WHERE m.user_id = $1
          AND ($2::timestamptz IS NULL OR (o.created_at, o.id) < ($2::timestamptz, $3::uuid))
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT $4`,
      [userId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }

  async findOrgForMember(orgId: string, userId: string): Promise<OrgWithRole | null> {
    const rows: OrgWithRole[] = await this.dataSource.query(
      `SELECT ${ORG_COLUMNS} FROM org_members m JOIN orgs o ON o.id = m.org_id
        WHERE m.org_id = $1 AND m.user_id = $2`,
      [requireOrgId(orgId), userId],
    );
    return rows[0] ?? null;
  }

  async findMembership(orgId: string, userId: string): Promise<Membership | null> {
    const rows: Membership[] = await this.dataSource.query(
      `SELECT org_id AS "orgId", user_id AS "userId", role FROM org_members WHERE org_id = $1 AND user_id = $2`,
      [requireOrgId(orgId), userId],
    );
    return rows[0] ?? null;
  }

  listMembers(orgId: string, limit: number, after?: NewestFirst): Promise<MemberRow[]> {
    return this.dataSource.query(
      `SELECT m.user_id AS "userId", u.email, m.role, m.created_at AS "createdAt"
         FROM org_members m JOIN users u ON u.id = m.user_id
        WHERE m.org_id = $1
          AND ($2::timestamptz IS NULL OR (m.created_at, m.user_id) < ($2::timestamptz, $3::uuid))
        ORDER BY m.created_at DESC, m.user_id DESC
        LIMIT $4`,
      [requireOrgId(orgId), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }

  /**
   * Locks, for the rest of the transaction, the org's owners and the given members, and returns
   * their roles: membership rules (the last owner) are then decided on rows no one else can change.
   */
  async lockOwnersAnd(
    manager: EntityManager,
    orgId: string,
    userIds: string[],
  ): Promise<Map<string, OrgRole>> {
    const rows: { userId: string; role: OrgRole }[] = await manager.query(
      `SELECT user_id AS "userId", role FROM org_members
        WHERE org_id = $1 AND (role = 'owner' OR user_id = ANY($2::uuid[]))
        ORDER BY user_id
        FOR UPDATE`,
      [requireOrgId(orgId), userIds],
    );
    return new Map(rows.map((r) => [r.userId, r.role]));
  }

  async insertMember(
    manager: EntityManager,
    orgId: string,
    userId: string,
    role: OrgRole,
  ): Promise<MemberRow> {
    const [row] = await manager.query(
      `WITH m AS (
         INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)
         RETURNING user_id, role, created_at)
       SELECT m.user_id AS "userId", u.email, m.role, m.created_at AS "createdAt"
         FROM m JOIN users u ON u.id = m.user_id`,
      [requireOrgId(orgId), userId, role],
    );
    return row;
  }

  async updateMemberRole(
    manager: EntityManager,
    orgId: string,
    userId: string,
    role: OrgRole,
  ): Promise<MemberRow> {
    const [row] = await manager.query(
      `WITH m AS (
         UPDATE org_members SET role = $3 WHERE org_id = $1 AND user_id = $2
         RETURNING user_id, role, created_at)
       SELECT m.user_id AS "userId", u.email, m.role, m.created_at AS "createdAt"
         FROM m JOIN users u ON u.id = m.user_id`,
      [requireOrgId(orgId), userId, role],
    );
    return row;
  }

  /** The org (as its members see it, without a role), locked for the rest of the transaction. */
  async lockOrg(manager: EntityManager, orgId: string): Promise<Omit<OrgWithRole, 'role'> | null> {
    const rows = await manager.query(
      `SELECT id, name, plan_code AS "planCode", created_at AS "createdAt"
         FROM orgs WHERE id = $1 FOR UPDATE`,
      [requireOrgId(orgId)],
    );
    return rows[0] ?? null;
  }

  /**
   * Moves the org to a plan, and records since when (billing reads which plan an org was on at
   * the end of a period). A plan that does not exist fails the foreign key (`orgs_plan_code_fkey`).
   */
  async setOrgPlan(manager: EntityManager, orgId: string, planCode: string): Promise<void> {
    await manager.query(`UPDATE orgs SET plan_code = $2 WHERE id = $1`, [
      requireOrgId(orgId),
      planCode,
    ]);
    await manager.query(`INSERT INTO org_plan_changes (org_id, plan_code) VALUES ($1, $2)`, [
      orgId,
      planCode,
    ]);
  }

  /**
   * The plan the org was on just before `at`; before its creation (usage may be dated up to 35
   * days back) the plan it started on. Null for no such org.
   */
  async findPlanCodeAt(orgId: string, at: Date): Promise<string | null> {
    const rows: { planCode: string }[] = await this.dataSource.query(
      `SELECT plan_code AS "planCode" FROM org_plan_changes
        WHERE org_id = $1
        ORDER BY changed_at < $2 DESC,
                 CASE WHEN changed_at < $2 THEN changed_at END DESC NULLS LAST,
                 changed_at
        LIMIT 1`,
      [requireOrgId(orgId), at.toISOString()],
    );
    return rows[0]?.planCode ?? null;
  }

  async deleteMember(manager: EntityManager, orgId: string, userId: string): Promise<void> {
    await manager.query(`DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, [
      requireOrgId(orgId),
      userId,
    ]);
  }
}
