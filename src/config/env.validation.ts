import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const toBoolean = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? (({ true: true, '1': true, false: false, '0': false } as Record<string, boolean>)[
        value.toLowerCase()
      ] ?? value)
    : value;
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every environment variable the service reads, with its rules. Nothing outside `src/config`
 * reads `process.env`; the rest of the code receives the typed `AppConfig` built from this.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsString()
  EMBEDDED_DATA_DIR = './.data';

  @Transform(toBoolean)
  @IsBoolean()
  MIGRATIONS_RUN = true;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsString()
  REDIS_KEY_PREFIX = '';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(1)
  JWT_SECRET?: string;

  @IsIn(['HS256', 'HS384', 'HS512'])
  JWT_ALGORITHM: 'HS256' | 'HS384' | 'HS512' = 'HS256';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60 * 24 * 30)
  JWT_EXPIRES_MINUTES = 60;

  @IsString()
  PLATFORM_ADMIN_EMAILS = '';

  @IsIn(['open', 'closed'])
  RATE_LIMIT_FAILURE_MODE: 'open' | 'closed' = 'open';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_FAILURES_PER_EMAIL = 5;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_THROTTLE_PER_IP = 60;

  @Transform(toBoolean)
  @IsBoolean()
  TRUST_PROXY = false;
}

export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const reasons = Object.values(e.constraints ?? {}).join('; ');
      return `  ${e.property}: ${reasons}`;
    });
    throw new Error(`Invalid environment configuration:\n${lines.join('\n')}`);
  }
  return env;
}
