import { PageOf } from '../common/pagination';
import { ApiProperty } from '@nestjs/swagger';

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) actorUserId: string | null;
  @ApiProperty({ example: 'api_key.created' }) action: string;
  @ApiProperty({ example: 'api_key' }) targetType: string;
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
