import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVELOPMENT_JWT_SECRET, loadConfiguration } from './configuration';

const STRONG_SECRET = randomBytes(32).toString('hex');

/** The message `loadConfiguration` fails with, or a test failure when it does not fail. */
function failure(env: Record<string, string>): string {
  try {
    loadConfiguration(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** The variables a failure message names (one `  NAME: reason` line each). */
const namedVariables = (message: string) =>
  [...message.matchAll(/^\s+([A-Z_]+):/gm)].map((match) => match[1]);

/** `.env.example` read the simple way dotenv does: `NAME=value` lines, comments skipped. */
function readEnvExample(): Record<string, string> {
  const text = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

describe('loadConfiguration', () => {
  describe('defaults', () => {
    it('starts from an empty environment with the documented defaults', () => {
      expect(loadConfiguration({})).toEqual({
        app: {
          env: 'development',
          port: 3000,
          logLevel: 'info',
          trustProxy: false,
          corsOrigins: [],
          metricsToken: undefined,
        },
        database: {
          url: undefined,
          embeddedDataDir: './.data',
          migrationsRun: true,
          poolSize: 10,
        },
        redis: { url: undefined, clusterNodes: [], keyPrefix: '' },
        auth: {
          jwtSecret: DEVELOPMENT_JWT_SECRET,
          jwtAlgorithm: 'HS256',
          jwtExpiresMinutes: 60,
          platformAdmin: undefined,
          loginFailuresPerEmail: 5,
          throttlePerIp: 60,
        },
        limits: { failureMode: 'open', apiKeyFailuresPerIp: 100 },
        usage: { reportTimeoutMs: 10_000, retentionMonths: undefined },
        billing: { invoiceGraceDays: 3, jobIntervalSeconds: 600 },
        webhooks: { allowPrivateUrls: true, retryBaseSeconds: 5 },
      });
    });

    it('gives the same defaults for .env.example copied as it is', () => {
      expect(loadConfiguration(readEnvExample())).toEqual(loadConfiguration({}));
    });

    it('treats empty DATABASE_URL, REDIS_URL and JWT_SECRET as unset', () => {
      const config = loadConfiguration({ DATABASE_URL: '', REDIS_URL: ' ', JWT_SECRET: '' });
      expect(config.database.url).toBeUndefined();
      expect(config.redis.url).toBeUndefined();
      expect(config.auth.jwtSecret).toBe(DEVELOPMENT_JWT_SECRET);
    });

    it('ignores variables it does not know', () => {
      expect(() => loadConfiguration({ HOME: '/root', PATH: '/usr/bin' })).not.toThrow();
    });
  });

  describe('reading values', () => {
    it('reads every variable', () => {
      const config = loadConfiguration({
        NODE_ENV: 'test',
        PORT: '8080',
        LOG_LEVEL: 'debug',
        DATABASE_URL: 'postgresql://u:p@db:5432/metering',
        EMBEDDED_DATA_DIR: '/tmp/pglite',
        MIGRATIONS_RUN: 'false',
        REDIS_URL: 'rediss://cache:6380',
        REDIS_KEY_PREFIX: 'prod:',
        JWT_SECRET: STRONG_SECRET,
        JWT_ALGORITHM: 'HS512',
        JWT_EXPIRES_MINUTES: '15',
        PLATFORM_ADMIN_EMAIL: ' Ops@Example.com ',
        PLATFORM_ADMIN_PASSWORD: 'correct horse battery staple',
        RATE_LIMIT_FAILURE_MODE: 'closed',
        LOGIN_FAILURES_PER_EMAIL: '3',
        AUTH_THROTTLE_PER_IP: '100',
        API_KEY_FAILURES_PER_IP: '25',
        TRUST_PROXY: '10.0.0.0/8, 192.168.1.7',
        DATABASE_POOL_SIZE: '20',
        REPORT_TIMEOUT_MS: '2500',
        INVOICE_GRACE_DAYS: '5',
        INVOICE_JOB_INTERVAL_SECONDS: '30',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_RETRY_BASE_SECONDS: '2',
        METRICS_TOKEN: 'a-metrics-token-of-some-length',
        CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
        RETENTION_MONTHS: '13',
      });
      expect(config).toEqual({
        app: {
          env: 'test',
          port: 8080,
          logLevel: 'debug',
          trustProxy: ['10.0.0.0/8', '192.168.1.7'],
          corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
          metricsToken: 'a-metrics-token-of-some-length',
        },
        database: {
          url: 'postgresql://u:p@db:5432/metering',
          embeddedDataDir: '/tmp/pglite',
          migrationsRun: false,
          poolSize: 20,
        },
        redis: { url: 'rediss://cache:6380', clusterNodes: [], keyPrefix: 'prod:' },
        auth: {
          jwtSecret: STRONG_SECRET,
          jwtAlgorithm: 'HS512',
          jwtExpiresMinutes: 15,
          platformAdmin: { email: 'ops@example.com', password: 'correct horse battery staple' },
          loginFailuresPerEmail: 3,
          throttlePerIp: 100,
        },
        limits: { failureMode: 'closed', apiKeyFailuresPerIp: 25 },
        usage: { reportTimeoutMs: 2500, retentionMonths: 13 },
        billing: { invoiceGraceDays: 5, jobIntervalSeconds: 30 },
        webhooks: { allowPrivateUrls: true, retryBaseSeconds: 2 },
      });
    });

    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ])('reads MIGRATIONS_RUN=%s as %s', (value, expected) => {
      expect(loadConfiguration({ MIGRATIONS_RUN: value }).database.migrationsRun).toBe(expected);
    });

    it.each<[string, false | number | string[]]>([
      ['false', false],
      ['', false],
      ['0', 0],
      ['2', 2],
      ['loopback', ['loopback']],
      ['127.0.0.1, ::1', ['127.0.0.1', '::1']],
      ['10.0.0.0/8,fd00::/8,uniquelocal', ['10.0.0.0/8', 'fd00::/8', 'uniquelocal']],
    ])('reads TRUST_PROXY=%j', (value, expected) => {
      expect(loadConfiguration({ TRUST_PROXY: value }).app.trustProxy).toEqual(expected);
    });

    it('keeps production webhooks to public https URLs unless WEBHOOK_ALLOW_PRIVATE_URLS', () => {
      const production = { NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET };
      expect(loadConfiguration(production).webhooks.allowPrivateUrls).toBe(false);
      expect(
        loadConfiguration({ ...production, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }).webhooks
          .allowPrivateUrls,
      ).toBe(true);
      expect(loadConfiguration({ NODE_ENV: 'development' }).webhooks.allowPrivateUrls).toBe(true);
    });

    it('reads REDIS_CLUSTER_NODES (IPv6 in brackets), instead of REDIS_URL', () => {
      const { redis } = loadConfiguration({
        REDIS_CLUSTER_NODES: 'r1:7000, 10.0.0.2:7001,[fd00::3]:7002',
        REDIS_KEY_PREFIX: 'prod:',
      });
      expect(redis).toEqual({
        url: undefined,
        clusterNodes: [
          { host: 'r1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
          { host: 'fd00::3', port: 7002 },
        ],
        keyPrefix: 'prod:',
      });
    });

    it.each(['0', '1', '65535'])('accepts PORT=%s', (port) => {
      expect(loadConfiguration({ PORT: port }).app.port).toBe(Number(port));
    });
  });

  describe('bad values stop the process with a message naming the variable', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['PORT', '3000abc'],
      ['RATE_LIMIT_FAILURE_MODE', 'sometimes'],
      ['RATE_LIMIT_FAILURE_MODE', 'OPEN '],
      ['DATABASE_URL', 'mysql://root:hunter2@db/metering'],
      ['DATABASE_URL', 'not a url'],
      ['DATABASE_URL', 'postgres://'],
      ['REDIS_URL', 'http://cache:6379'],
      ['NODE_ENV', 'staging'],
      ['LOG_LEVEL', 'verbose'],
      ['JWT_ALGORITHM', 'none'],
      ['JWT_ALGORITHM', 'RS256'],
      ['JWT_EXPIRES_MINUTES', '0'],
      ['JWT_EXPIRES_MINUTES', 'forever'],
      ['MIGRATIONS_RUN', 'maybe'],
      ['LOGIN_FAILURES_PER_EMAIL', '0'],
      ['LOGIN_FAILURES_PER_EMAIL', 'five'],
      ['AUTH_THROTTLE_PER_IP', '-5'],
      ['TRUST_PROXY', 'yes please'],
      ['TRUST_PROXY', 'true'],
      ['TRUST_PROXY', '11'],
      ['TRUST_PROXY', '10.0.0.0/33'],
      ['TRUST_PROXY', '10.0.0.1, everyone'],
      ['JWT_EXPIRES_MINUTES', '1441'],
      ['API_KEY_FAILURES_PER_IP', '0'],
      ['REDIS_CLUSTER_NODES', 'r1'],
      ['REDIS_CLUSTER_NODES', 'r1:99999'],
      ['REPORT_TIMEOUT_MS', '10'],
      ['INVOICE_GRACE_DAYS', '-1'],
      ['INVOICE_JOB_INTERVAL_SECONDS', '0'],
      ['INVOICE_JOB_INTERVAL_SECONDS', '86401'],
      ['WEBHOOK_ALLOW_PRIVATE_URLS', 'sure'],
      ['WEBHOOK_RETRY_BASE_SECONDS', '0'],
      ['METRICS_TOKEN', 'short'],
      ['CORS_ORIGINS', 'app.example.com'],
      ['CORS_ORIGINS', 'https://app.example.com/path'],
      ['DATABASE_POOL_SIZE', '0'],
      ['RETENTION_MONTHS', '1'],
    ])('%s=%j', (name, value) => {
      const message = failure({ [name]: value });
      expect(message).toMatch(/^Invalid environment configuration/);
      expect(namedVariables(message)).toEqual([name]);
    });

    it('wants PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD together, and a real password', () => {
      expect(namedVariables(failure({ PLATFORM_ADMIN_EMAIL: 'ops@example.com' }))).toEqual([
        'PLATFORM_ADMIN_PASSWORD',
      ]);
      expect(namedVariables(failure({ PLATFORM_ADMIN_PASSWORD: 'long enough secret' }))).toEqual([
        'PLATFORM_ADMIN_EMAIL',
      ]);
      const short = failure({
        PLATFORM_ADMIN_EMAIL: 'ops@example.com',
        PLATFORM_ADMIN_PASSWORD: 'short',
      });
      expect(namedVariables(short)).toEqual(['PLATFORM_ADMIN_PASSWORD']);
      expect(short).not.toContain('short"');
      const bad = {
        PLATFORM_ADMIN_EMAIL: 'not-an-email',
        PLATFORM_ADMIN_PASSWORD: 'long enough secret',
      };
      expect(namedVariables(failure(bad))).toEqual(['PLATFORM_ADMIN_EMAIL']);
    });

    it('wants one Redis: REDIS_URL or REDIS_CLUSTER_NODES, not both', () => {
      const both = { REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'r1:7000' };
      expect(namedVariables(failure(both))).toEqual(['REDIS_CLUSTER_NODES']);
    });

    it.each(['{app}:', 'app{', 'app}'])(
      'refuses REDIS_KEY_PREFIX=%j on a Cluster (braces change what Redis hashes to a slot)',
      (prefix) => {
        const env = { REDIS_CLUSTER_NODES: 'r1:7000', REDIS_KEY_PREFIX: prefix };
        expect(namedVariables(failure(env))).toEqual(['REDIS_KEY_PREFIX']);
        expect(loadConfiguration({ REDIS_KEY_PREFIX: prefix }).redis.keyPrefix).toBe(prefix);
      },
    );

    it('does not echo the refused value (it may hold a password)', () => {
      expect(failure({ DATABASE_URL: 'mysql://root:hunter2@db/metering' })).not.toContain(
        'hunter2',
      );
    });

    it('names every bad variable at once', () => {
      const message = failure({ PORT: 'abc', RATE_LIMIT_FAILURE_MODE: 'x', DATABASE_URL: 'y' });
      expect(namedVariables(message).sort()).toEqual(
        ['DATABASE_URL', 'PORT', 'RATE_LIMIT_FAILURE_MODE'].sort(),
      );
    });
  });

  describe('JWT_SECRET in production', () => {
    const production = (env: Record<string, string> = {}) => ({ NODE_ENV: 'production', ...env });

    it('refuses a missing secret', () => {
      expect(namedVariables(failure(production()))).toEqual(['JWT_SECRET']);
      expect(namedVariables(failure(production({ JWT_SECRET: '   ' })))).toEqual(['JWT_SECRET']);
    });

    it('refuses a secret shorter than 32 characters', () => {
      const short = randomBytes(32).toString('hex').slice(0, 31);
      const message = failure(production({ JWT_SECRET: short }));
      expect(namedVariables(message)).toEqual(['JWT_SECRET']);
      expect(message).not.toContain(short);
    });

    it.each([
      DEVELOPMENT_JWT_SECRET,
      'replace-with-a-long-random-string-of-at-least-32-characters',
    ])('refuses the published default %j', (secret) => {
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(namedVariables(failure(production({ JWT_SECRET: secret })))).toEqual(['JWT_SECRET']);
    });

    it('refuses .env.example copied as it is, with only NODE_ENV changed', () => {
      const example = readEnvExample();
      expect(namedVariables(failure({ ...example, NODE_ENV: 'production' }))).toEqual([
        'JWT_SECRET',
      ]);
    });

    it('accepts a long random secret, exactly 32 characters included', () => {
      for (const secret of [STRONG_SECRET, randomBytes(16).toString('hex')]) {
        const config = loadConfiguration(production({ JWT_SECRET: secret }));
        expect(config.app.env).toBe('production');
        expect(config.auth.jwtSecret).toBe(secret);
      }
    });

    it('allows the development secret outside production', () => {
      expect(loadConfiguration({ NODE_ENV: 'development' }).auth.jwtSecret).toBe(
        DEVELOPMENT_JWT_SECRET,
      );
      expect(loadConfiguration({ NODE_ENV: 'test', JWT_SECRET: 'short' }).auth.jwtSecret).toBe(
        'short',
      );
    });
  });
});
