import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { decodeCursor, Page, PageQueryDto, toPage } from '../common/pagination';
import { OrgResponseDto } from './dto/orgs.dto';
import { orgNotFound } from './org-role.guard';
import { OrgsRepository, OrgWithRole } from './orgs.repository';

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
  ) {}

  /** Creates an org on the default plan with its creator as owner. */
  create(userId: string, name: string): Promise<OrgResponseDto> {
    return this.dataSource.transaction(async (manager) =>
      toOrgResponse(await this.orgs.insertOrgWithOwner(manager, name, userId)),
    );
  }

  async listForUser(userId: string, page: PageQueryDto): Promise<Page<OrgResponseDto>> {
    const rows = await this.orgs.listOrgsOfUser(userId, page.limit, decodeCursor(page.cursor));
    return toPage(rows, page.limit, (o) => o, toOrgResponse);
  }

  async getForMember(orgId: string, userId: string): Promise<OrgResponseDto> {
    const org = await this.orgs.findOrgForMember(orgId, userId);
    if (!org) throw orgNotFound();
    return toOrgResponse(org);
  }
}
