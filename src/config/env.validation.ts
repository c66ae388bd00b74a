import { isIP } from 'node:net';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
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

/** Express' names for address ranges, and addresses or CIDRs. */
const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address or a CIDR (`10.0.0.0/8`, `fd00::/8`). */
export function isAddressOrCidr(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || !isIP(address)) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

/**
 * `TRUST_PROXY`: `false`, a number of hops, or a comma-separated list of trusted proxy addresses,
 * CIDRs or Express' range names. Never "trust every hop" (`true`): a client could then name its own
 * address in `X-Forwarded-For` and void the per-address throttles.
 */
export function parseTrustProxy(value: string): false | number | string[] | null {
  const text = value.trim();
  if (text === '' || text.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(text)) return Number(text) <= 10 ? Number(text) : null;
  const entries = text.split(',').map((e) => e.trim());
  return entries.every((e) => TRUST_NAMES.has(e) || isAddressOrCidr(e)) ? entries : null;
}

/** `host:port,host:port` of Redis Cluster nodes. */
export function parseClusterNodes(value: string): { host: string; port: number }[] | null {
  const nodes = value
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => /^([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(n));
  if (nodes.length === 0 || nodes.some((m) => !m || Number(m[2]) > 65535)) return null;
  return nodes.map((m) => ({ host: m![1].replace(/^\[|\]$/g, ''), port: Number(m![2]) }));
}

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

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @ValidateBy({
    name: 'isClusterNodes',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && parseClusterNodes(v) !== null,
      defaultMessage: () => 'REDIS_CLUSTER_NODES must be host:port pairs separated by commas',
    },
  })
  REDIS_CLUSTER_NODES?: string;

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
  @Max(1440)
  JWT_EXPIRES_MINUTES = 60;

  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() || undefined : value,
  )
  @ValidateIf(
    (env: EnvironmentVariables) =>
      env.PLATFORM_ADMIN_EMAIL !== undefined || env.PLATFORM_ADMIN_PASSWORD !== undefined,
  )
  @IsEmail({}, { message: 'PLATFORM_ADMIN_EMAIL must be an email address (set with the password)' })
  PLATFORM_ADMIN_EMAIL?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((env: EnvironmentVariables) => env.PLATFORM_ADMIN_EMAIL !== undefined)
  @IsString({ message: 'PLATFORM_ADMIN_PASSWORD must be set with PLATFORM_ADMIN_EMAIL' })
  @Length(10, 128, { message: 'PLATFORM_ADMIN_PASSWORD must be 10 to 128 characters' })
  PLATFORM_ADMIN_PASSWORD?: string;

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

  @Transform(toInt)
  @IsInt()
  @Min(1)
  API_KEY_FAILURES_PER_IP = 100;

  @ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && parseTrustProxy(v) !== null,
      defaultMessage: () =>
        'TRUST_PROXY must be false, a hop count (0 to 10) or a list of proxy addresses/CIDRs (never true)',
    },
  })
  TRUST_PROXY = 'false';

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(300_000)
  REPORT_TIMEOUT_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(28)
  INVOICE_GRACE_DAYS = 3;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  INVOICE_JOB_INTERVAL_SECONDS = 600;

  @Transform(toBoolean)
  @IsBoolean()
  WEBHOOK_ALLOW_PRIVATE_URLS = false;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  WEBHOOK_RETRY_BASE_SECONDS = 5;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  @IsString()
  CORS_ORIGINS = '';

  @Transform(emptyToUndefined)
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(2)
  RETENTION_MONTHS?: number;
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
