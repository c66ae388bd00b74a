import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AuthError } from '../auth/auth.errors';
import { decodeCursor, NEWEST_FIRST, Page, PageQueryDto, toPage } from '../common/pagination';
import { isForeignKeyViolation } from '../database/database-errors';
import { OrgResponseDto } from './dto/orgs.dto';
import { orgNotFound, OrgsError } from './orgs.errors';
import { OrgPlanChangedEvent } from './orgs.events';
import { Membership, OrgsRepository, OrgWithRole } from './orgs.repository';

export function toOrgResponse(org: OrgWithRole): OrgResponseDto {
  return {
    id: org.id,
    name: org.name,
    plan: org.planCode,
    role: org.role,
    createdAt: org.createdAt.toISOString(),
  };
}

@Injectable()
export class OrgsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly orgs: OrgsRepository,
    private readonly audit: AuditService,
    private readonly events: EventEmitter2,
  ) {}

  /** Creates an org on the default plan with its creator as owner. */
  async create(userId: string, name: string): Promise<OrgResponseDto> {
    try {
      return await this.dataSource.transaction(async (manager) =>
        toOrgResponse(await this.orgs.insertOrgWithOwner(manager, name, userId)),
      );
    } catch (error) {
      // The token's user was deleted a moment ago (its existence is believed for a few seconds).
      if (isForeignKeyViolation(error, 'org_members_user_id_fkey'))
        throw new AuthError('invalid_token', 'A valid bearer token is required');
      throw error;
    }
  }

  async listForUser(userId: string, page: PageQueryDto): Promise<Page<OrgResponseDto>> {
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.orgs.listOrgsOfUser(userId, page.limit, after);
    return toPage(rows, page.limit, (o) => [o.createdAt, o.id], toOrgResponse);
  }

  async getForMember(orgId: string, userId: string): Promise<OrgResponseDto> {
    const org = await this.orgs.findOrgForMember(orgId, userId);
    if (!org) throw orgNotFound();
    return toOrgResponse(org);
  }

  /** The code of the plan the org was on just before `at` (the end of a period); null: no such org. */
  planCodeAt(orgId: string, at: Date): Promise<string | null> {
    return this.orgs.findPlanCodeAt(orgId, at);
  }

  /**
   * Moves the org to `planCode`, audited in the same transaction; a no-op when it is on it. Once
   * committed, OrgPlanChangedEvent tells the rest of the platform (cached key credentials carry
   * the plan), and its listeners have run when this returns.
   */
  async changePlan(actor: Membership, planCode: string): Promise<OrgResponseDto> {
    const { org, from } = await this.dataSource.transaction(async (manager) => {
      const current = await this.orgs.lockOrg(manager, actor.orgId);
      if (!current) throw orgNotFound();
      if (current.planCode === planCode) return { org: current, from: null };
      try {
        await this.orgs.setOrgPlan(manager, actor.orgId, planCode);
      } catch (error) {
        if (isForeignKeyViolation(error, 'orgs_plan_code_fkey'))
          throw new OrgsError('plan_not_found', `No plan "${planCode}"`);
        throw error;
      }
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'org.plan_changed',
        targetType: 'org',
        targetId: actor.orgId,
        meta: { from: current.planCode, to: planCode },
      });
      return { org: { ...current, planCode }, from: current.planCode };
    });
    if (from !== null) {
      await this.events.emitAsync(
        OrgPlanChangedEvent.event,
        new OrgPlanChangedEvent(actor.orgId, from, planCode),
      );
    }
    return toOrgResponse({ ...org, role: actor.role });
  }
}
