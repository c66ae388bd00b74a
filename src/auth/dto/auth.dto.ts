import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { normalizeEmail } from '../../users/email';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

export class SignupDto {
  @ApiProperty({ example: 'ann@example.com', description: 'Trimmed and lower-cased before use' })
  @Transform(({ value }) => normalizeEmail(value))
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @ApiProperty({
    minLength: PASSWORD_MIN,
    maxLength: PASSWORD_MAX,
    example: 'correct horse battery',
  })
  @IsString()
  @Length(PASSWORD_MIN, PASSWORD_MAX)
  password: string;
}

/** JSON login body. */
export class JsonLoginDto {
  @ApiProperty({ example: 'ann@example.com' })
  @Transform(({ value }) => normalizeEmail(value))
  @IsString()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString()
  @MaxLength(PASSWORD_MAX)
  password: string;
}

/** OAuth2 password grant form (RFC 6749 §4.3); `username` is the email. */
export class FormLoginDto {
  @ApiProperty({ example: 'ann@example.com' })
  @Transform(({ value }) => normalizeEmail(value))
  @IsString()
  @MaxLength(254)
  username: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString()
  @MaxLength(PASSWORD_MAX)
  password: string;

  @ApiPropertyOptional({ enum: ['password'], description: 'When sent, must be `password`' })
  @IsOptional()
  @IsIn(['password'])
  grant_type?: 'password';

  @ApiPropertyOptional({ description: 'Ignored: tokens carry no scopes', example: '' })
  @IsOptional()
  @IsString()
  scope?: string;

  @ApiPropertyOptional({ description: 'Ignored (public client)', example: 'swagger-ui' })
  @IsOptional()
  @IsString()
  client_id?: string;

  @ApiPropertyOptional({ description: 'Ignored (public client)', example: '' })
  @IsOptional()
  @IsString()
  client_secret?: string;
}

export class UserResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ann@example.com' }) email: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class TokenResponseDto {
  @ApiProperty({
    description: 'A JWT to send as `Authorization: Bearer <it>`',
    example: 'eyJhbGciOiJIUzI1NiJ9…',
  })
  access_token: string;
  @ApiProperty({ enum: ['bearer'], example: 'bearer' }) token_type: 'bearer';
  @ApiProperty({ description: 'Seconds until the token expires', example: 3600 })
  expires_in: number;
}
