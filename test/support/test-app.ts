import { randomBytes } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { createTestDatabase, TestDatabase } from './test-databases';

export const TEST_JWT_SECRET = 'e2e-test-secret-that-is-long-enough-0123456789';

/**
 * One per spec file: its own database (a copy of the migrated template) and its own Redis key
 * prefix, and any number of app instances over them (several instances model a scaled-out
 * deployment sharing one Postgres and one Redis).
 */
export class TestContext {
  readonly apps: NestExpressApplication[] = [];
  readonly redisPrefix = `e2e:${randomBytes(4).toString('hex')}:`;

  private constructor(readonly database: TestDatabase) {}

  static async create(): Promise<TestContext> {
    return new TestContext(await createTestDatabase());
  }

  /** The environment an app instance of this spec starts with. */
  env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      DATABASE_URL: this.database.url,
      MIGRATIONS_RUN: 'false',
      REDIS_URL: process.env.REDIS_URL,
      REDIS_KEY_PREFIX: this.redisPrefix,
      JWT_SECRET: TEST_JWT_SECRET,
      PLATFORM_ADMIN_EMAILS: 'admin@platform.test',
      // Specs sign up and log in many users from one address, and try wrong passwords on purpose
      // (counted per email on the shared Redis across app instances): auth-throttling sets both low.
      AUTH_THROTTLE_PER_IP: '10000',
      LOGIN_FAILURES_PER_EMAIL: '1000',
      ...overrides,
    };
  }

  async startApp(
    overrides: Record<string, string | undefined> = {},
  ): Promise<NestExpressApplication> {
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
      configureApp(app);
      await app.init();
      this.apps.push(app);
      return app;
    } finally {
      process.env = saved;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.close()));
    if (process.env.REDIS_URL) {
      const redis = new Redis(process.env.REDIS_URL);
      const keys = await redis.keys(`${this.redisPrefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    await this.database.drop();
  }
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
}

let userCounter = 0;

/** Signs up and logs in a fresh user. */
export async function signupUser(app: NestExpressApplication, email?: string): Promise<TestUser> {
  const address = email ?? `user${++userCounter}-${randomBytes(3).toString('hex')}@example.test`;
  const password = 'correct horse battery staple';
  const signup = await request(app.getHttpServer())
    .post('/auth/signup')
    .send({ email: address, password })
    .expect(201);
  const login = await request(app.getHttpServer())
    .post('/auth/login')
    .send({ email: address, password })
    .expect(200);
  return { id: signup.body.id, email: signup.body.email, password, token: login.body.access_token };
}

export async function createOrg(
  app: NestExpressApplication,
  owner: TestUser,
  name = 'Acme',
): Promise<string> {
  const res = await request(app.getHttpServer())
    .post('/orgs')
    .set('Authorization', `Bearer ${owner.token}`)
    .send({ name })
    .expect(201);
  return res.body.id;
}
