import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { decodeCursor, NEWEST_FIRST, Page, PageQueryDto, toPage } from '../common/pagination';
import { AuditService } from '../audit/audit.service';
import { isUniqueViolation } from '../database/database-errors';
import { UsersService } from '../users/users.service';
import { MemberResponseDto } from './dto/orgs.dto';
import { checkRemoval, checkRoleChange, MembershipViolation, OrgRole } from './org-roles';
import { OrgsError } from './orgs.errors';
import { MemberRow, Membership, OrgsRepository } from './orgs.repository';

export function toMemberResponse(row: MemberRow): MemberResponseDto {
  return {
    userId: row.userId,
    email: row.email,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
  };
}

const VIOLATIONS: Record<MembershipViolation, string> = {
  last_owner: 'The organization must keep at least one owner',
  owner_required: 'Only an owner may grant, take away or remove the owner role',
  insufficient_role: 'This action needs the admin role in the organization',
};

function refuse(violation: MembershipViolation): never {
  throw new OrgsError(violation, VIOLATIONS[violation]);
}

const memberNotFound = () => new OrgsError('member_not_found', 'Member not found');

/**
 * Membership changes. Each one runs in a transaction that first locks the org's owners and the
 * rows involved, so two concurrent demotions can never leave an org without an owner.
 */
@Injectable()
export class MembersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly orgs: OrgsRepository,
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  async list(orgId: string, page: PageQueryDto): Promise<Page<MemberResponseDto>> {
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.orgs.listMembers(orgId, page.limit, after);
    return toPage(rows, page.limit, (m) => [m.createdAt, m.userId], toMemberResponse);
  }

  /**
   * Adds the user with that email, or changes their role if they are a member already. Two adds of
   * one user racing: the loser's insert meets the winner's row, and it starts over as a role
   * change, decided under the lock of that row (one 201, the other 200 or its refusal).
   */
  async addOrChangeRole(
    actor: Membership,
    email: string,
    role: OrgRole,
  ): Promise<{ member: MemberResponseDto; created: boolean }> {
    const user = await this.users.findByEmail(email);
    if (!user) throw new OrgsError('user_not_found', 'No user with this email');
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.addOrChangeRoleOnce(actor, user.id, role);
      } catch (error) {
        if (attempt >= 2 || !isUniqueViolation(error, 'org_members_pkey')) throw error;
      }
    }
  }

  private addOrChangeRoleOnce(
    actor: Membership,
    userId: string,
    role: OrgRole,
  ): Promise<{ member: MemberResponseDto; created: boolean }> {
    return this.dataSource.transaction(async (manager) => {
      const roles = await this.orgs.lockOwnersAnd(manager, actor.orgId, [actor.userId, userId]);
      const current = roles.get(userId) ?? null;
      const violation = checkRoleChange(
        roles.get(actor.userId) ?? 'member',
        current,
        role,
        countOwners(roles),
      );
      if (violation) refuse(violation);
      const row = current
        ? await this.orgs.updateMemberRole(manager, actor.orgId, userId, role)
        : await this.orgs.insertMember(manager, actor.orgId, userId, role);
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: current ? 'member.role_changed' : 'member.added',
        targetType: 'member',
        targetId: userId,
        meta: current ? { role, previousRole: current } : { role },
      });
      return { member: toMemberResponse(row), created: current === null };
    });
  }

  changeRole(actor: Membership, userId: string, role: OrgRole): Promise<MemberResponseDto> {
    return this.dataSource.transaction(async (manager) => {
      const roles = await this.orgs.lockOwnersAnd(manager, actor.orgId, [actor.userId, userId]);
      const current = roles.get(userId);
      if (!current) throw memberNotFound();
      const violation = checkRoleChange(
        roles.get(actor.userId) ?? 'member',
        current,
        role,
        countOwners(roles),
      );
      if (violation) refuse(violation);
      const row = await this.orgs.updateMemberRole(manager, actor.orgId, userId, role);
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'member.role_changed',
        targetType: 'member',
        targetId: userId,
        meta: { role, previousRole: current },
      });
      return toMemberResponse(row);
    });
  }

  remove(actor: Membership, userId: string): Promise<void> {
    return this.dataSource.transaction(async (manager) => {
      const roles = await this.orgs.lockOwnersAnd(manager, actor.orgId, [actor.userId, userId]);
      const target = roles.get(userId);
      if (!target) throw memberNotFound();
      const actorRole = roles.get(actor.userId) ?? 'member';
      const violation = checkRemoval(
        actorRole,
        actor.userId === userId,
        target,
        countOwners(roles),
      );
      if (violation) refuse(violation);
      await this.orgs.deleteMember(manager, actor.orgId, userId);
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'member.removed',
        targetType: 'member',
        targetId: userId,
        meta: { previousRole: target },
      });
    });
  }
}

function countOwners(roles: Map<string, OrgRole>): number {
  return [...roles.values()].filter((r) => r === 'owner').length;
}
