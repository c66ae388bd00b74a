import { GCRA_CASES } from '../src/limits/gcra.cases';
import { LIMITER_CASES, ledgerOf, runLimiterCase } from '../src/limits/limiter.cases';
import { LIMITER_LUA } from '../src/limits/limiter.lua';
import { LimiterService } from '../src/limits/limiter.service';
import { MetricsService } from '../src/metrics/metrics.service';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../src/config/configuration';
import { expectError } from './support/assertions';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import {
  connectSharedRedis,
  describeWithRedis,
  DisposableRedis,
  flushSharedRedisScripts,
  sharedRedisKeys,
  withSharedRedis,
} from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';

describe('rate limits', () => {
  const e2e = setupTestContext();
  let owner: TestUser, orgId: string;

  beforeAll(async () => {
    owner = await createUser(e2e.app);
    orgId = await createOrg(e2e.app, owner);
  });

  it('lets exactly 7 of 40 concurrent requests through a limit of 7', async () => {
    // An org of its own: the burst empties the org's bucket (10 a second on free) for the tests after.
    const { key } = await createApiKey(e2e.app, owner, await createOrg(e2e.app, owner), {
      rateLimit: { limit: 7, periodSeconds: 60 },
    });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        api(e2e.app, withKey(key))
          .get('/v1/ping')
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    expect(statuses.filter((s) => s === 429)).toHaveLength(33);
  });

  it('sends the RateLimit headers on success and Retry-After with code rate_limited on refusal', async () => {
    const { key } = await createApiKey(e2e.app, owner, orgId, {
      rateLimit: { limit: 2, periodSeconds: 60 },
    });
    const first = await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '2',
      'ratelimit-remaining': '1',
      'ratelimit-reset': '30',
      'ratelimit-policy': '"default";q=2;w=60',
      ratelimit: '"default";r=1;t=30',
    });
    expect(first.headers['retry-after']).toBeUndefined();
    await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
    const refused = await api(e2e.app, withKey(key)).get('/v1/ping').expect(429);
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
    const orgId = await createOrg(e2e.app, owner);
    const planKey = await createApiKey(e2e.app, owner, orgId);
    const res = await api(e2e.app, withKey(planKey.key)).get('/v1/ping').expect(200);
    expect(res.headers['ratelimit-policy']).toBe('"default";q=10;w=1'); // plan free: 10 per second
    const ownKey = await createApiKey(e2e.app, owner, orgId, {
      rateLimit: { limit: 3, periodSeconds: 5 },
    });
    const own = await api(e2e.app, withKey(ownKey.key)).get('/v1/ping').expect(200);
    expect(own.headers['ratelimit-policy']).toBe('"default";q=3;w=5');
  });

  it("gives a key with its own limit its own bucket, still paying the org's", async () => {
    const rateLimit = { limit: 1, periodSeconds: 60 };
    const a = await createApiKey(e2e.app, owner, orgId, { rateLimit });
    const b = await createApiKey(e2e.app, owner, orgId, { rateLimit });
    await api(e2e.app, withKey(a.key)).get('/v1/ping').expect(200);
    await api(e2e.app, withKey(a.key)).get('/v1/ping').expect(429);
    await api(e2e.app, withKey(b.key)).get('/v1/ping').expect(200);
  });

  it("shares the plan's limit between all the keys of an org (and only that org)", async () => {
    const admin = await createPlatformAdmin(e2e.app);
    await createPlan(e2e.app, admin, {
      code: 'three_a_minute',
      rateLimit: { limit: 3, periodSeconds: 60 },
      meters: [],
    });
    const shared = await createOrg(e2e.app, owner, { plan: 'three_a_minute' });
    const other = await createOrg(e2e.app, owner, { plan: 'three_a_minute' });
    const [a, b, c] = await Promise.all(
      [shared, shared, other].map((org) => createApiKey(e2e.app, owner, org)),
    );
    const statuses: number[] = [];
    for (const key of [a, b, a, b, a]) {
      statuses.push((await api(e2e.app, withKey(key.key)).get('/v1/ping')).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    await api(e2e.app, withKey(c.key)).get('/v1/ping').expect(200);
  });

  it("refuses a key's own limit above the plan's with 400 rate_limit_above_plan", async () => {
    // free: 10 a second. 11 a second is more; 600 a minute is the same rate (allowed).
    const refused = await api(e2e.app, asUser(owner))
      .post(`/orgs/${orgId}/api-keys`)
      .send({ name: 'greedy', rateLimit: { limit: 11, periodSeconds: 1 } })
      .expect(400);
    expectError(refused, 400, 'rate_limit_above_plan');
    await api(e2e.app, asUser(owner))
      .post(`/orgs/${orgId}/api-keys`)
      .send({ name: 'same rate', rateLimit: { limit: 600, periodSeconds: 60 } })
      .expect(201);
  });

  it('makes /v1/verify pay a unit and answer RATE_LIMITED with the real numbers', async () => {
    const { key, id } = await createApiKey(e2e.app, owner, orgId, {
      rateLimit: { limit: 2, periodSeconds: 60 },
    });
    const first = await api(e2e.app, withKey(key)).post('/v1/verify').send({}).expect(200);
    expect(first.body).toMatchObject({
      valid: true,
      code: 'VALID',
      keyId: id,
      ratelimit: { limit: 2, remaining: 1, reset: 30 },
    });
    expect(first.headers['ratelimit-remaining']).toBe('1');
    await api(e2e.app, withKey(key)).post('/v1/verify').send({}).expect(200);
    const third = await api(e2e.app, withKey(key)).post('/v1/verify').send({}).expect(200);
    expect(third.body).toMatchObject({
      valid: false,
      code: 'RATE_LIMITED',
      ratelimit: { limit: 2, remaining: 0 },
    });
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  });

  describeWithRedis('on Redis', () => {
    it('decides every case of the GCRA table exactly as the in-process maths (the Lua script)', async () => {
      await withSharedRedis(async (redis) => {
        for (const testCase of GCRA_CASES) {
          const bucket = `{case}:${testCase.name}`;
          const decisions = [];
          for (const step of testCase.steps) {
            // One bucket, no quota: {status, bucket, remaining, resetMs, retryAfterMs}.
            const [status, , remaining, resetMs, retryAfterMs] = (await redis.eval(
              LIMITER_LUA,
              1,
              bucket,
              1,
              1_700_000_000_000 + step.at,
              step.cost ?? 1,
              testCase.limit,
              testCase.periodMs,
            )) as number[];
            decisions.push({ allowed: status === 1, remaining, resetMs, retryAfterMs });
          }
          expect({ name: testCase.name, decisions }).toEqual({
            name: testCase.name,
            decisions: testCase.steps.map((s) => s.expect),
          });
        }
      }, e2e.ctx.redisPrefix);
    });

    it.each(LIMITER_CASES.map((c) => [c.name, c] as const))(
      'decides the admission case "%s" on Redis exactly as in process',
      async (_, testCase) => {
        const redis = await connectSharedRedis(e2e.ctx.redisPrefix);
        try {
          const config = {
            get: () => ({ failureMode: 'closed' }),
          } as unknown as ConfigService<AppConfig, true>;
          const limiter = new LimiterService(
            redis,
            new MetricsService(),
            ledgerOf(testCase.seeded),
            config,
          );
          limiter.onModuleInit();
          const orgId = `case-${testCase.name.length}-${Math.random().toString(36).slice(2)}`;
          expect(await runLimiterCase(limiter, testCase, orgId)).toEqual(
            testCase.steps.map((step) => step.expect),
          );
        } finally {
          redis.disconnect();
        }
      },
    );

    it('shares one limit exactly between two instances', async () => {
      const second = await e2e.ctx.startApp();
      const { key } = await createApiKey(e2e.app, owner, await createOrg(e2e.app, owner), {
        rateLimit: { limit: 9, periodSeconds: 60 },
      });
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          api(i % 2 ? e2e.app : second, withKey(key))
            .get('/v1/ping')
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    });

    it('reloads the limiter script when Redis has lost it (NOSCRIPT)', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId, {
        rateLimit: { limit: 2, periodSeconds: 60 },
      });
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      await flushSharedRedisScripts();
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(429);
    });

    it('keeps every key of one decision under the org hash tag (one Redis Cluster slot)', async () => {
      const { redisPrefix } = e2e.ctx;
      const { id, key } = await createApiKey(e2e.app, owner, orgId, {
        rateLimit: { limit: 5, periodSeconds: 1 },
      });
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      const keys = (await sharedRedisKeys(`${redisPrefix}{org:${orgId}}*`)).map((k) =>
        k.slice(redisPrefix.length),
      );
      // The org's plan bucket, the key's own, and the hard-quota counter of api_calls (plan free)
      // this month.
      expect(keys).toEqual(
        expect.arrayContaining([
          `{org:${orgId}}:rl:org`,
          `{org:${orgId}}:rl:key:${id}`,
          expect.stringMatching(new RegExp(`^\\{org:${orgId}\\}:q:api_calls:\\d{4}-\\d{2}$`)),
        ]),
      );
      const tags = new Set(keys.map((k) => /^\{[^}]+\}/.exec(k)?.[0]));
      expect([...tags]).toEqual([`{org:${orgId}}`]);
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
          const instance = await e2e.ctx.startApp({
            REDIS_URL: redis.url,
            RATE_LIMIT_FAILURE_MODE: mode,
          });
          const { key } = await createApiKey(instance, owner, orgId, {
            rateLimit: { limit: 3, periodSeconds: 60 },
          });
          await api(instance, withKey(key)).get('/v1/ping').expect(200);

          await redis.stop();
          const started = Date.now();
          const during = await api(instance, withKey(key)).get('/v1/ping');
          expect(Date.now() - started).toBeLessThan(1000);
          expect(during.status).toBe(status);
          if (status === 503) expect(during.body.code).toBe('rate_limiter_unavailable');
          const metrics = await api(instance).get('/metrics').expect(200);
          expect(metrics.text).toMatch(
            new RegExp(`ratelimit_backend_failures_total\\{mode="${mode}"\\} [1-9]`),
          );

          await redis.resume();
          // The instance reconnects by itself (its readiness pings the client the limiter uses).
          await eventually(() => api(instance).get('/health/ready').expect(200), {
            timeoutMs: 5000,
          });
          // A fresh Redis has no buckets: the key gets its full limit back, and it is enforced again.
          const recovered: number[] = [];
          for (let i = 0; i < 4; i++) {
            recovered.push((await api(instance, withKey(key)).get('/v1/ping')).status);
          }
          expect(recovered).toEqual([200, 200, 200, 429]);
        },
      );
    });
  });
});
