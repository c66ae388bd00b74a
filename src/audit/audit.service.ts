import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { decodeCursor, NEWEST_FIRST, Page, PageQueryDto, toPage } from '../common/pagination';
import { AuditEventDto } from './audit.dto';
import { AuditEntry, AuditRepository, AuditRow } from './audit.repository';

function toAuditEventDto(row: AuditRow): AuditEventDto {
  return {
    id: row.id,
    actorUserId: row.actorUserId,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    at: row.at.toISOString(),
    meta: row.meta,
  };
}

/** The org's audit log. Writers pass the transaction of the change they record. */
@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  record(manager: EntityManager, orgId: string, entry: AuditEntry): Promise<void> {
    return this.audit.insertEvent(manager, orgId, entry);
  }

  async list(orgId: string, page: PageQueryDto): Promise<Page<AuditEventDto>> {
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.audit.listEvents(orgId, page.limit, after);
    return toPage(rows, page.limit, (r) => [r.at, r.id], toAuditEventDto);
  }
}
