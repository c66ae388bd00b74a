import { randomBytes } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_PASSWORD } from './factories';
import { deleteSharedRedisKeys, hasSharedRedis, SHARED_REDIS } from './redis-server';
import { createTestDatabase, TestDatabase } from './test-databases';

/**
 * Tests that need a Postgres server (`DATABASE_URL` set, always on CI): to cut it, to run the app
 * in a process of its own, or to load it harder than the embedded PGlite's one connection takes.
 */
export const describeWithPostgres: jest.Describe = process.env.DATABASE_URL
  ? describe
  : describe.skip;

export type EnvOverrides = Record<string, string | undefined>;

export const TEST_JWT_SECRET = 'e2e-test-secret-that-is-long-enough-0123456789';

/**
 * One per spec file: its own database (a copy of the migrated template) and its own Redis key
 * prefix, and any number of app instances over them (several instances model a scaled-out
 * deployment sharing one Postgres and one Redis — a server, or a Cluster when the suite runs with
 * `REDIS_CLUSTER_NODES`). A spec gets one with `setupTestContext()`.
 */
export class TestContext {
  readonly apps: NestExpressApplication[] = [];
  readonly redisPrefix = `e2e:${randomBytes(4).toString('hex')}:`;

  private constructor(readonly database: TestDatabase) {}

  static async create(): Promise<TestContext> {
    return new TestContext(await createTestDatabase());
  }

  /** The environment an app instance of this spec starts with. */
  env(overrides: EnvOverrides = {}): EnvOverrides {
    // An instance given a Redis of its own (a server or a Cluster) leaves the shared one out.
    const ownRedis = 'REDIS_URL' in overrides || 'REDIS_CLUSTER_NODES' in overrides;
    return {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      DATABASE_URL: this.database.url,
      MIGRATIONS_RUN: 'false',
      REDIS_URL: ownRedis ? undefined : SHARED_REDIS.url,
      REDIS_CLUSTER_NODES: ownRedis ? undefined : process.env.REDIS_CLUSTER_NODES,
      REDIS_KEY_PREFIX: this.redisPrefix,
      JWT_SECRET: TEST_JWT_SECRET,
      // The platform admin the app bootstraps at start (see createPlatformAdmin()).
      PLATFORM_ADMIN_EMAIL,
      PLATFORM_ADMIN_PASSWORD,
      // Specs sign up and log in many users from one address, try wrong passwords and bad keys on
      // purpose (counted per email and address on the shared Redis across app instances):
      // auth-throttling and the key-failure specs set these low.
      AUTH_THROTTLE_PER_IP: '10000',
      LOGIN_FAILURES_PER_EMAIL: '1000',
      API_KEY_FAILURES_PER_IP: '10000',
      // A PGlite database (no DATABASE_URL for the tests) is one session: one connection.
      ...(process.env.DATABASE_URL ? {} : { DATABASE_POOL_SIZE: '1' }),
      ...overrides,
    };
  }

  async startApp(overrides: EnvOverrides = {}): Promise<NestExpressApplication> {
    const saved = { ...process.env };
    for (const [name, value] of Object.entries(this.env(overrides))) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = moduleRef.createNestApplication<NestExpressApplication>({
        bodyParser: false,
        bufferLogs: true,
      });
      await configureApp(app);
      await app.init();
      this.apps.push(app);
      return app;
    } finally {
      process.env = saved;
    }
  }

  /** Deletes every key of this spec on the shared Redis (other spec files keep theirs). */
  async flushRedis(): Promise<void> {
    if (hasSharedRedis) await deleteSharedRedisKeys(`${this.redisPrefix}*`);
  }

  async close(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.close()));
    await this.flushRedis();
    await this.database.drop();
  }
}

/** What `setupTestContext()` gives a spec, readable from its hooks and tests. */
export interface TestSpec {
  /** The spec's own database and Redis prefix: `ctx.startApp(env)` starts more instances. */
  readonly ctx: TestContext;
  /** The instance started by `setupTestContext()`. */
  readonly app: NestExpressApplication;
}

/**
 * The hooks every e2e spec file needs, registered where it is called (at the top of the file's
 * `describe`): `beforeAll` creates the spec's TestContext and starts one app instance with `env`
 * (none with `startApp: false`), `afterAll` closes them all.
 */
export function setupTestContext(
  options: { env?: EnvOverrides; startApp?: boolean } = {},
): TestSpec {
  let ctx: TestContext | undefined;
  let app: NestExpressApplication | undefined;
  beforeAll(async () => {
    ctx = await TestContext.create();
    if (options.startApp !== false) app = await ctx.startApp(options.env);
  });
  afterAll(() => ctx?.close());
  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`setupTestContext(): no ${name} here`);
    return value;
  };
  return {
    get ctx() {
      return ready(ctx, 'ctx');
    },
    get app() {
      return ready(app, 'app');
    },
  };
}
