import { validateEnvironment } from './env.validation';

/** Secrets that ship in docs and examples: never acceptable in production. */
const KNOWN_DEFAULT_SECRETS = new Set([
  'dev-only-insecure-jwt-secret-change-me-please',
  'change-me',
  'changeme',
  'secret',
  'replace-with-a-long-random-string-of-at-least-32-characters',
]);
export const DEVELOPMENT_JWT_SECRET = 'dev-only-insecure-jwt-secret-change-me-please';

export interface AppConfig {
  app: {
    env: 'development' | 'production' | 'test';
    port: number;
    logLevel: string;
    trustProxy: boolean;
  };
  database: { url?: string; embeddedDataDir: string; migrationsRun: boolean };
  redis: { url?: string; keyPrefix: string };
  auth: {
    jwtSecret: string;
    jwtAlgorithm: 'HS256' | 'HS384' | 'HS512';
    jwtExpiresMinutes: number;
    platformAdminEmails: string[];
    loginFailuresPerEmail: number;
    throttlePerIp: number;
  };
  limits: { failureMode: 'open' | 'closed' };
}

export function loadConfiguration(raw: Record<string, unknown> = process.env): AppConfig {
  const env = validateEnvironment(raw);
  const production = env.NODE_ENV === 'production';
  if (production) {
    if (!env.JWT_SECRET)
      throw new Error(
        'Invalid environment configuration:\n  JWT_SECRET: required when NODE_ENV=production',
      );
    if (KNOWN_DEFAULT_SECRETS.has(env.JWT_SECRET) || env.JWT_SECRET.length < 32) {
      throw new Error(
        'Invalid environment configuration:\n  JWT_SECRET: must be at least 32 characters and not a published default when NODE_ENV=production',
      );
    }
  }
  return {
    app: {
      env: env.NODE_ENV,
      port: env.PORT,
      logLevel: env.LOG_LEVEL,
      trustProxy: env.TRUST_PROXY,
    },
    database: {
      url: env.DATABASE_URL,
      embeddedDataDir: env.EMBEDDED_DATA_DIR,
      migrationsRun: env.MIGRATIONS_RUN,
    },
    redis: { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
    auth: {
      jwtSecret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
      jwtAlgorithm: env.JWT_ALGORITHM,
      jwtExpiresMinutes: env.JWT_EXPIRES_MINUTES,
      platformAdminEmails: env.PLATFORM_ADMIN_EMAILS.split(',')
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean),
      loginFailuresPerEmail: env.LOGIN_FAILURES_PER_EMAIL,
      throttlePerIp: env.AUTH_THROTTLE_PER_IP,
    },
    limits: { failureMode: env.RATE_LIMIT_FAILURE_MODE },
  };
}
