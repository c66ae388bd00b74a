import { PageOf } from '../../common/pagination';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsString, Length, MaxLength } from 'class-validator';
import { normalizeEmail } from '../../users/email';
import { ORG_ROLES, OrgRole } from '../org-roles';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateOrgDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Acme Inc.' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name: string;
}

export class AddMemberDto {
  @ApiProperty({ example: 'bob@example.com' })
  @Transform(({ value }) => normalizeEmail(value))
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @IsIn(ORG_ROLES)
  role: OrgRole;
}

export class ChangeRoleDto {
  @IsIn(ORG_ROLES)
  role: OrgRole;
}

export class OrgResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Acme' }) name: string;
  @ApiProperty({ example: 'free', description: 'Code of the plan the org is on' }) plan: string;
  @ApiProperty({ enum: ORG_ROLES, description: "The caller's role" }) role: OrgRole;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class OrgPageDto extends PageOf(OrgResponseDto) {}

export class MemberResponseDto {
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty({ example: 'ann@example.com' }) email: string;
  role: OrgRole;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class MemberPageDto extends PageOf(MemberResponseDto) {}

export class ChangeOrgPlanDto {
  @ApiProperty({ example: 'pro', description: 'Code of the plan to move the org to' })
  @IsString()
  @Length(1, 64)
  plan: string;
}
