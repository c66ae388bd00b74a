import { PageOf } from '../common/pagination';
import { ApiProperty } from '@nestjs/swagger';

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) actorUserId: string | null;
  @ApiProperty({ example: 'api_key.created' }) action: string;
  @ApiProperty({ example: 'api_key' }) targetType: string;
  @ApiProperty() targetId: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) meta: Record<string, unknown>;
}

export class AuditEventPageDto extends PageOf(AuditEventDto) {}
