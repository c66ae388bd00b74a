import { PageOf } from '../common/pagination';
import { ApiProperty } from '@nestjs/swagger';
import {
  AUDIT_ACTIONS,
  AUDIT_TARGET_TYPES,
  AuditAction,
  AuditTargetType,
} from './audit.repository';

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) actorUserId: string | null;
  @ApiProperty({ enum: AUDIT_ACTIONS, example: 'api_key.created' }) action: AuditAction;
  @ApiProperty({ enum: AUDIT_TARGET_TYPES, example: 'api_key' }) targetType: AuditTargetType;
  @ApiProperty({ example: '6f1c2b1e-8a4e-4a57-9a53-3c3a2e0c1d11' }) targetId: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { name: 'production backend' },
  })
  meta: Record<string, unknown>;
}

export class AuditEventPageDto extends PageOf(AuditEventDto) {}
