import { parseClusterNodes, parseTrustProxy, validateEnvironment } from './env.validation';

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
    /** Express' `trust proxy`: never `true`. */
    trustProxy: false | number | string[];
    corsOrigins: string[];
    /** Bearer token `/metrics` wants; unset: open outside production, 404 in production. */
    metricsToken?: string;
  };
  database: { url?: string; embeddedDataDir: string; migrationsRun: boolean; poolSize: number };
  redis: { url?: string; clusterNodes: { host: string; port: number }[]; keyPrefix: string };
  auth: {
    jwtSecret: string;
    jwtAlgorithm: 'HS256' | 'HS384' | 'HS512';
    jwtExpiresMinutes: number;
    /** The platform admin created (or flagged) at start. */
    platformAdmin?: { email: string; password: string };
    loginFailuresPerEmail: number;
    throttlePerIp: number;
  };
  limits: { failureMode: 'open' | 'closed'; apiKeyFailuresPerIp: number };
  usage: { reportTimeoutMs: number; retentionMonths?: number };
  billing: { invoiceGraceDays: number; jobIntervalSeconds: number };
  webhooks: { allowPrivateUrls: boolean; retryBaseSeconds: number };
}

const invalid = (name: string, reason: string) =>
  new Error(`Invalid environment configuration:\n  ${name}: ${reason}`);

function corsOrigins(text: string): string[] {
  const origins = text
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin)
      throw invalid('CORS_ORIGINS', 'must be * or origins such as https://app.example.com');
  }
  return origins;
}

export function loadConfiguration(raw: Record<string, unknown> = process.env): AppConfig {
  const env = validateEnvironment(raw);
  const production = env.NODE_ENV === 'production';
  if (production) {
    if (!env.JWT_SECRET) throw invalid('JWT_SECRET', 'required when NODE_ENV=production');
    if (KNOWN_DEFAULT_SECRETS.has(env.JWT_SECRET) || env.JWT_SECRET.length < 32) {
      throw invalid(
        'JWT_SECRET',
        'must be at least 32 characters and not a published default when NODE_ENV=production',
      );
    }
  }
  if (env.REDIS_URL && env.REDIS_CLUSTER_NODES)
    throw invalid(
      'REDIS_CLUSTER_NODES',
      'set either REDIS_URL (one server) or it (a Cluster), not both',
    );
  if (env.REDIS_CLUSTER_NODES && /[{}]/.test(env.REDIS_KEY_PREFIX)) {
    // Redis hashes only what is inside the first {...} of a key: braces in the prefix would decide
    // the slots (`{app}:` puts every key of the service in one slot, on one node).
    throw invalid('REDIS_KEY_PREFIX', 'must not contain { or } with REDIS_CLUSTER_NODES');
  }
  return {
    app: {
      env: env.NODE_ENV,
      port: env.PORT,
      logLevel: env.LOG_LEVEL,
      trustProxy: parseTrustProxy(env.TRUST_PROXY)!,
      corsOrigins: corsOrigins(env.CORS_ORIGINS),
      metricsToken: env.METRICS_TOKEN,
    },
    database: {
      url: env.DATABASE_URL,
      embeddedDataDir: env.EMBEDDED_DATA_DIR,
      migrationsRun: env.MIGRATIONS_RUN,
      poolSize: env.DATABASE_POOL_SIZE,
    },
    redis: {
      url: env.REDIS_URL,
      clusterNodes: env.REDIS_CLUSTER_NODES ? parseClusterNodes(env.REDIS_CLUSTER_NODES)! : [],
      keyPrefix: env.REDIS_KEY_PREFIX,
    },
    auth: {
      jwtSecret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
      jwtAlgorithm: env.JWT_ALGORITHM,
      jwtExpiresMinutes: env.JWT_EXPIRES_MINUTES,
      platformAdmin:
        env.PLATFORM_ADMIN_EMAIL && env.PLATFORM_ADMIN_PASSWORD
          ? {
              email: env.PLATFORM_ADMIN_EMAIL.trim().toLowerCase(),
              password: env.PLATFORM_ADMIN_PASSWORD,
            }
          : undefined,
      loginFailuresPerEmail: env.LOGIN_FAILURES_PER_EMAIL,
      throttlePerIp: env.AUTH_THROTTLE_PER_IP,
    },
    limits: {
      failureMode: env.RATE_LIMIT_FAILURE_MODE,
      apiKeyFailuresPerIp: env.API_KEY_FAILURES_PER_IP,
    },
    usage: { reportTimeoutMs: env.REPORT_TIMEOUT_MS, retentionMonths: env.RETENTION_MONTHS },
    billing: {
      invoiceGraceDays: env.INVOICE_GRACE_DAYS,
      jobIntervalSeconds: env.INVOICE_JOB_INTERVAL_SECONDS,
    },
    webhooks: {
      // Outside production, local receivers (http, private addresses) are the usual case.
      allowPrivateUrls: !production || env.WEBHOOK_ALLOW_PRIVATE_URLS,
      retryBaseSeconds: env.WEBHOOK_RETRY_BASE_SECONDS,
    },
  };
}
