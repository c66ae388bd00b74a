import {
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { decodeCursor, Page, PageQueryDto, toPage } from '../common/pagination';
import { AuditService } from '../audit/audit.service';
import { UsersService } from '../users/users.service';
import { MemberResponseDto } from './dto/orgs.dto';
import { checkRemoval, checkRoleChange, MembershipViolation, OrgRole } from './org-roles';
import { MemberRow, Membership, OrgsRepository } from './orgs.repository';

export function toMemberResponse(row: MemberRow): MemberResponseDto {
  return {
    userId: row.userId,
    email: row.email,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
  };
}

function refuse(violation: MembershipViolation): never {
  switch (violation) {
    case 'last_owner':
      throw new ConflictException({
        code: 'last_owner',
        message: 'The organization must keep at least one owner',
      });
    case 'owner_required':
      throw new ForbiddenException({
        code: 'owner_required',
        message: 'Only an owner may grant, take away or remove the owner role',
      });
    case 'insufficient_role':
      throw new ForbiddenException({
        code: 'insufficient_role',
        message: 'This action needs the admin role in the organization',
      });
  }
}

const memberNotFound = () =>
  new NotFoundException({ code: 'member_not_found', message: 'Member not found' });

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
    const rows = await this.orgs.listMembers(orgId, page.limit, decodeCursor(page.cursor));
    return toPage(
      rows,
      page.limit,
      (m) => ({ createdAt: m.createdAt, id: m.userId }),
      toMemberResponse,
    );
  }

  /** Adds the user with that email, or changes their role if they are a member already. */
  async addOrChangeRole(
    actor: Membership,
    email: string,
    role: OrgRole,
  ): Promise<{ member: MemberResponseDto; created: boolean }> {
    const user = await this.users.findByEmail(email);
    if (!user)
      throw new NotFoundException({ code: 'user_not_found', message: 'No user with this email' });
    return this.dataSource.transaction(async (manager) => {
      const roles = await this.orgs.lockOwnersAnd(manager, actor.orgId, [actor.userId, user.id]);
      const current = roles.get(user.id) ?? null;
      const violation = checkRoleChange(
        roles.get(actor.userId) ?? 'member',
        current,
        role,
        countOwners(roles),
      );
      if (violation) refuse(violation);
      const row = current
        ? await this.orgs.updateMemberRole(manager, actor.orgId, user.id, role)
        : await this.orgs.insertMember(manager, actor.orgId, user.id, role);
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: current ? 'member.role_changed' : 'member.added',
        targetType: 'member',
        targetId: user.id,
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
