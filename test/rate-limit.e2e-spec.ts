import { NestExpressApplication } from '@nestjs/platform-express';
import Redis from 'ioredis';
import request from 'supertest';
import { GCRA_CASES } from '../src/rate-limit/gcra.cases';
import { GCRA_LUA } from '../src/rate-limit/limiter.lua';
import { describeWithRedis, DisposableRedis } from './support/redis-server';
import { createOrg, signupUser, TestContext, TestUser } from './support/test-app';

describe('rate limits', () => {
  let ctx: TestContext;
  let app: NestExpressApplication;
  let owner: TestUser;
  let orgId: string;

  const http = (target = app) => request(target.getHttpServer());

  async function createKey(
    body: Record<string, unknown> = {},
    target = app,
  ): Promise<{ id: string; key: string }> {
    const res = await http(target)
      .post(`/orgs/${orgId}/api-keys`)
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ name: 'limited', ...body })
      .expect(201);
    return res.body;
  }

  beforeAll(async () => {
    ctx = await TestContext.create();
    app = await ctx.startApp();
    owner = await signupUser(app);
    orgId = await createOrg(app, owner);
  });
  afterAll(() => ctx.close());

  it('lets exactly 7 of 40 concurrent requests through a limit of 7', async () => {
    const { key } = await createKey({ rateLimit: { limit: 7, periodSeconds: 60 } });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        http()
          .get('/v1/ping')
          .set('X-API-Key', key)
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    expect(statuses.filter((s) => s === 429)).toHaveLength(33);
  });

  it('sends the RateLimit headers on success and Retry-After with code rate_limited on refusal', async () => {
    const { key } = await createKey({ rateLimit: { limit: 2, periodSeconds: 60 } });
    const first = await http().get('/v1/ping').set('X-API-Key', key).expect(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '2',
      'ratelimit-remaining': '1',
      'ratelimit-reset': '30',
      'ratelimit-policy': '"default";q=2;w=60',
      ratelimit: '"default";r=1;t=30',
    });
    expect(first.headers['retry-after']).toBeUndefined();
    await http().get('/v1/ping').set('X-API-Key', key).expect(200);
    const refused = await http().get('/v1/ping').set('X-API-Key', key).expect(429);
    expect(refused.body).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      code: 'rate_limited',
    });
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(30);
  });

  it("uses the org plan's limit for a key without its own, and the key's own when it has one", async () => {
    const planKey = await createKey();
    const res = await http().get('/v1/ping').set('X-API-Key', planKey.key).expect(200);
    expect(res.headers['ratelimit-policy']).toBe('"default";q=10;w=1'); // plan free: 10 per second
    const ownKey = await createKey({ rateLimit: { limit: 3, periodSeconds: 5 } });
    const own = await http().get('/v1/ping').set('X-API-Key', ownKey.key).expect(200);
    expect(own.headers['ratelimit-policy']).toBe('"default";q=3;w=5');
  });

  it('gives every key its own bucket', async () => {
    const a = await createKey({ rateLimit: { limit: 1, periodSeconds: 60 } });
    const b = await createKey({ rateLimit: { limit: 1, periodSeconds: 60 } });
    await http().get('/v1/ping').set('X-API-Key', a.key).expect(200);
    await http().get('/v1/ping').set('X-API-Key', a.key).expect(429);
    await http().get('/v1/ping').set('X-API-Key', b.key).expect(200);
  });

  it('makes /v1/verify pay a unit and answer RATE_LIMITED with the real numbers', async () => {
    const { key, id } = await createKey({ rateLimit: { limit: 2, periodSeconds: 60 } });
    const first = await http().post('/v1/verify').set('X-API-Key', key).send({}).expect(200);
    expect(first.body).toMatchObject({
      valid: true,
      code: 'VALID',
      keyId: id,
      ratelimit: { limit: 2, remaining: 1, reset: 30 },
    });
    expect(first.headers['ratelimit-remaining']).toBe('1');
    await http().post('/v1/verify').set('X-API-Key', key).send({}).expect(200);
    const third = await http().post('/v1/verify').set('X-API-Key', key).send({}).expect(200);
    expect(third.body).toMatchObject({
      valid: false,
      code: 'RATE_LIMITED',
      ratelimit: { limit: 2, remaining: 0 },
    });
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  });

  describeWithRedis('on Redis', () => {
    it('decides every case of the shared table exactly as the in-process maths (the Lua script)', async () => {
      const redis = new Redis(process.env.REDIS_URL!, { keyPrefix: ctx.redisPrefix });
      try {
        for (const testCase of GCRA_CASES) {
          const bucket = `{case}:${testCase.name}`;
          const decisions = [];
          for (const step of testCase.steps) {
            const [allowed, remaining, resetMs, retryAfterMs] = (await redis.eval(
              GCRA_LUA,
              1,
              bucket,
              testCase.limit,
              testCase.periodMs,
              step.cost ?? 1,
              1_700_000_000_000 + step.at,
            )) as number[];
            decisions.push({ allowed: allowed === 1, remaining, resetMs, retryAfterMs });
          }
          expect({ name: testCase.name, decisions }).toEqual({
            name: testCase.name,
            decisions: testCase.steps.map((s) => s.expect),
          });
        }
      } finally {
        redis.disconnect();
      }
    });

    it('shares one limit exactly between two instances', async () => {
      const second = await ctx.startApp();
      const { key } = await createKey({ rateLimit: { limit: 9, periodSeconds: 60 } });
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          http(i % 2 ? app : second)
            .get('/v1/ping')
            .set('X-API-Key', key)
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    });

    it('reloads the limiter script when Redis has lost it (NOSCRIPT)', async () => {
      const { key } = await createKey({ rateLimit: { limit: 2, periodSeconds: 60 } });
      await http().get('/v1/ping').set('X-API-Key', key).expect(200);
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        await redis.script('FLUSH');
      } finally {
        redis.disconnect();
      }
      await http().get('/v1/ping').set('X-API-Key', key).expect(200);
      await http().get('/v1/ping').set('X-API-Key', key).expect(429);
    });

    it('keeps every key of one decision under the org hash tag (one Redis Cluster slot)', async () => {
      const { id, key } = await createKey();
      await http().get('/v1/ping').set('X-API-Key', key).expect(200);
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const keys = (await redis.keys(`${ctx.redisPrefix}{org:${orgId}}*`)).map((k) =>
          k.slice(ctx.redisPrefix.length),
        );
        // The rate bucket of the key and the hard-quota counter of api_calls (plan free) this month.
        expect(keys).toEqual(
          expect.arrayContaining([
            `{org:${orgId}}:rl:${id}`,
            expect.stringMatching(new RegExp(`^\\{org:${orgId}\\}:q:api_calls:\\d{4}-\\d{2}$`)),
          ]),
        );
        const tags = new Set(keys.map((k) => /^\{[^}]+\}/.exec(k)?.[0]));
        expect([...tags]).toEqual([`{org:${orgId}}`]);
      } finally {
        redis.disconnect();
      }
    });

    describe('when Redis goes away', () => {
      let redis: DisposableRedis;
      beforeAll(async () => {
        redis = await DisposableRedis.start();
      });
      afterAll(() => redis.stop());

      it.each([
        ['open', 200],
        ['closed', 503],
      ])(
        'fails %s (answering %d within a second), then recovers by itself',
        async (mode, status) => {
          await redis.resume();
          const instance = await ctx.startApp({
            REDIS_URL: redis.url,
            RATE_LIMIT_FAILURE_MODE: mode,
          });
          const { key } = await createKey({ rateLimit: { limit: 3, periodSeconds: 60 } }, instance);
          await http(instance).get('/v1/ping').set('X-API-Key', key).expect(200);

          await redis.stop();
          const started = Date.now();
          const during = await http(instance).get('/v1/ping').set('X-API-Key', key);
          expect(Date.now() - started).toBeLessThan(1000);
          expect(during.status).toBe(status);
          if (status === 503) expect(during.body.code).toBe('rate_limiter_unavailable');
          const metrics = await http(instance).get('/metrics').expect(200);
          expect(metrics.text).toMatch(
            new RegExp(`ratelimit_backend_failures_total\\{mode="${mode}"\\} [1-9]`),
          );

          await redis.resume();
          // A fresh Redis has no buckets: the key gets its full limit back, and it is enforced again.
          let recovered: number[] = [];
          for (let attempt = 0; attempt < 40 && !recovered.includes(429); attempt++) {
            const res = await http(instance).get('/v1/ping').set('X-API-Key', key);
            recovered.push(res.status);
            if (res.status !== 200 && res.status !== 429) {
              recovered = [];
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          expect(recovered.slice(-4)).toEqual([200, 200, 200, 429]);
        },
      );
    });
  });
});
