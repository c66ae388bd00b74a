import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { NewestFirst } from '../common/pagination';
import { requireOrgId } from '../database/tenant-scope';

/** What the audit log records, as closed lists (the document's enums are these). */
export const AUDIT_ACTIONS = [
  'api_key.created',
  'api_key.revoked',
  'api_key.rotated',
  'member.added',
  'member.role_changed',
  'member.removed',
  'org.plan_changed',
  'webhook.created',
  'webhook.deleted',
  'invoice.finalized',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_TARGET_TYPES = ['api_key', 'member', 'org', 'webhook', 'invoice'] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

export interface AuditEntry {
  actorUserId: string | null;
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string;
  meta?: Record<string, unknown>;
}

export interface AuditRow extends Required<AuditEntry> {
  id: string;
  at: Date;
}

@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertEvent(manager: EntityManager, orgId: string, entry: AuditEntry): Promise<void> {
    await manager.query(
      `INSERT INTO audit_events (org_id, actor_user_id, action, target_type, target_id, meta)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        requireOrgId(orgId),
        entry.actorUserId,
        entry.action,
        entry.targetType,
        entry.targetId,
        entry.meta ?? {},
      ],
    );
  }

  listEvents(orgId: string, limit: number, after?: NewestFirst): Promise<AuditRow[]> {
    return this.dataSource.query(
      `SELECT id, actor_user_id AS "actorUserId", action, target_type AS "targetType",
              target_id AS "targetId", meta, at
         FROM audit_events
        WHERE org_id = $1
          AND ($2::timestamptz IS NULL OR (at, id) < ($2::timestamptz, $3::uuid))
        ORDER BY at DESC, id DESC
        LIMIT $4`,
      [requireOrgId(orgId), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }
}
