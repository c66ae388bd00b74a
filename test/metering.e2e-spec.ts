import { NestExpressApplication } from '@nestjs/platform-express';
import Redis from 'ioredis';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { describeWithRedis, DisposableRedis } from './support/redis-server';
import { createOrg, signupUser, TestContext, TestUser } from './support/test-app';

const FREE_PRICE = { model: 'flat', unitAmount: 0 };

describe('metering', () => {
  let ctx: TestContext;
  let app: NestExpressApplication;
  let admin: TestUser;
  let owner: TestUser;

  const http = (target = app) => request(target.getHttpServer());
  const db = () => app.get(DataSource);
  const asUser = (user: TestUser) => ({ Authorization: `Bearer ${user.token}` });

  async function createPlan(
    code: string,
    meters: { meter: string; included: number; enforcement: 'hard' | 'soft' }[],
  ) {
    await http()
      .post('/admin/plans')
      .set(asUser(admin))
      .send({
        code,
        name: code,
        currency: 'USD',
        baseFee: 0,
        rateLimit: { limit: 10_000, periodSeconds: 1 },
        meters: meters.map((m) => ({ ...m, price: FREE_PRICE })),
      })
      .expect(201);
  }

  /** A fresh org on `plan` with a key of a high rate limit. */
  async function orgWithKey(
    plan?: string,
    scopes?: string[],
  ): Promise<{ orgId: string; key: string; keyId: string }> {
    const orgId = await createOrg(app, owner);
    if (plan) await http().put(`/orgs/${orgId}/plan`).set(asUser(owner)).send({ plan }).expect(200);
    const res = await http()
      .post(`/orgs/${orgId}/api-keys`)
      .set(asUser(owner))
      .send({ name: 'ingest', scopes, rateLimit: { limit: 100_000, periodSeconds: 1 } })
      .expect(201);
    return { orgId, key: res.body.key, keyId: res.body.id };
  }

  const countEvents = async (orgId: string, meter = 'api_calls') =>
    (
      await db().query(
        `SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1 AND meter = $2`,
        [orgId, meter],
      )
    )[0].n as number;

  beforeAll(async () => {
    ctx = await TestContext.create();
    app = await ctx.startApp();
    [admin, owner] = await Promise.all([signupUser(app, 'admin@platform.test'), signupUser(app)]);
    await http()
      .post('/admin/meters')
      .set(asUser(admin))
      .send({ slug: 'tokens', name: 'Tokens', aggregation: 'sum', valueProperty: 'tokens' })
      .expect(201);
    await createPlan('tiny', [{ meter: 'api_calls', included: 10, enforcement: 'hard' }]);
    await createPlan('tiny_tokens', [{ meter: 'tokens', included: 100, enforcement: 'hard' }]);
    await createPlan('soft', [{ meter: 'api_calls', included: 3, enforcement: 'soft' }]);
  });
  afterAll(() => ctx.close());

  describe('POST /v1/events', () => {
    it('accepts one event or a batch (202), and counts duplicates within and across batches', async () => {
      const { orgId, key } = await orgWithKey();
      const one = await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 'a1', type: 'api_calls' })
        .expect(202);
      expect(one.body).toEqual({ accepted: 1, duplicates: 0 });
      const batch = await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({
          events: [
            { id: 'a1', type: 'api_calls' },
            { id: 'a2', type: 'api_calls' },
            { id: 'a2', type: 'api_calls' },
          ],
        })
        .expect(202);
      expect(batch.body).toEqual({ accepted: 1, duplicates: 2 });
      expect(await countEvents(orgId)).toBe(2);
      const [{ sum }] = await db().query(
        `SELECT sum(count)::int AS sum FROM usage_rollups WHERE org_id = $1`,
        [orgId],
      );
      expect(sum).toBe(2);
    });

    it('keeps the first body of a repeated id', async () => {
      const { orgId, key } = await orgWithKey();
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 'same', type: 'tokens', data: { tokens: 5 } })
        .expect(202);
      const again = await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 'same', type: 'tokens', data: { tokens: 500 } })
        .expect(202);
      expect(again.body).toEqual({ accepted: 0, duplicates: 1 });
      const rows = await db().query(
        `SELECT value FROM usage_events WHERE org_id = $1 AND event_id = 'same'`,
        [orgId],
      );
      expect(rows).toEqual([{ value: 5 }]);
    });

    it('scopes ids per org: the same id in two orgs is two events', async () => {
      const a = await orgWithKey();
      const b = await orgWithKey();
      await http()
        .post('/v1/events')
        .set('X-API-Key', a.key)
        .send({ id: 'shared', type: 'api_calls' })
        .expect(202, { accepted: 1, duplicates: 0 });
      await http()
        .post('/v1/events')
        .set('X-API-Key', b.key)
        .send({ id: 'shared', type: 'api_calls' })
        .expect(202, { accepted: 1, duplicates: 0 });
    });

    it('refuses a batch with one bad event whole, naming each bad event, and stores nothing', async () => {
      const { orgId, key } = await orgWithKey();
      const res = await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({
          events: [
            { id: 'ok', type: 'api_calls' },
            {
              id: 'future',
              type: 'api_calls',
              time: new Date(Date.now() + 10 * 60_000).toISOString(),
            },
            {
              id: 'old',
              type: 'api_calls',
              time: new Date(Date.now() - 36 * 24 * 3600_000).toISOString(),
            },
            { id: 'unknown', type: 'no_such_meter' },
            { id: 'nan', type: 'tokens', data: { tokens: 'lots' } },
            { id: 'big', type: 'api_calls', data: { blob: 'x'.repeat(9000) } },
          ],
        })
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.message).toEqual([
        'events[1].time must not be more than 5 minutes in the future',
        'events[2].time must not be more than 35 days in the past',
        'events[3].type "no_such_meter" is not a known meter',
        'events[4].data.tokens must be a number',
        'events[5].data must be at most 8 KB',
      ]);
      expect(await countEvents(orgId)).toBe(0);
    });

    it('refuses more than 1000 events, takes a batch over 1 MB, and wants the events:write scope', async () => {
      const { key } = await orgWithKey();
      const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `e${i}`, type: 'api_calls' }));
      await http().post('/v1/events').set('X-API-Key', key).send({ events: tooMany }).expect(400);
      const big = Array.from({ length: 200 }, (_, i) => ({
        id: `big${i}`,
        type: 'api_calls',
        data: { pad: 'x'.repeat(6000) },
      }));
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ events: big })
        .expect(202, { accepted: 200, duplicates: 0 });
      const readOnly = await orgWithKey(undefined, ['usage:read']);
      const res = await http()
        .post('/v1/events')
        .set('X-API-Key', readOnly.key)
        .send({ id: 'x', type: 'api_calls' })
        .expect(403);
      expect(res.body.code).toBe('insufficient_scope');
    });
  });

  describe('hard quotas', () => {
    it('never lets usage end above the quota: 60 concurrent events against 10 (two instances when Redis is shared)', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const instances = process.env.REDIS_URL ? [app, await ctx.startApp()] : [app];
      const statuses = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          http(instances[i % instances.length])
            .post('/v1/events')
            .set('X-API-Key', key)
            .send({ id: `q${i}`, type: 'api_calls' })
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 202)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(50);
      expect(await countEvents(orgId)).toBe(10);
    });

    it('answers 429 quota_exceeded with Retry-After until the next month', async () => {
      const { key } = await orgWithKey('tiny_tokens');
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 't1', type: 'tokens', data: { tokens: 90 } })
        .expect(202);
      const res = await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 't2', type: 'tokens', data: { tokens: 11 } })
        .expect(429);
      expect(res.body).toMatchObject({ statusCode: 429, code: 'quota_exceeded' });
      const now = new Date();
      const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      expect(
        Math.abs(Number(res.headers['retry-after']) - (nextMonth - Date.now()) / 1000),
      ).toBeLessThan(5);
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 't3', type: 'tokens', data: { tokens: 10 } })
        .expect(202);
    });

    it('does not charge duplicates against the quota', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      for (let i = 0; i < 3; i++)
        await http()
          .post('/v1/events')
          .set('X-API-Key', key)
          .send({ id: 'dup', type: 'api_calls' })
          .expect(202);
      const rest = Array.from({ length: 9 }, (_, i) => ({ id: `r${i}`, type: 'api_calls' }));
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ events: rest })
        .expect(202, { accepted: 9, duplicates: 0 });
      expect(await countEvents(orgId)).toBe(10);
    });

    it('accepts usage past a soft quota', async () => {
      const { orgId, key } = await orgWithKey('soft');
      const events = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, type: 'api_calls' }));
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ events })
        .expect(202, { accepted: 5, duplicates: 0 });
      expect(await countEvents(orgId)).toBe(5);
    });

    it('rebuilds a lost quota counter from Postgres, neither resetting nor double-counting', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const eight = Array.from({ length: 8 }, (_, i) => ({ id: `f${i}`, type: 'api_calls' }));
      await http().post('/v1/events').set('X-API-Key', key).send({ events: eight }).expect(202);
      if (process.env.REDIS_URL) {
        // FLUSHALL, limited to this spec's keys (other spec files share the server).
        const redis = new Redis(process.env.REDIS_URL);
        const keys = await redis.keys(`${ctx.redisPrefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      } else {
        // The embedded limiter loses its counters with the process: a new instance starts empty.
        app = await ctx.startApp();
      }
      const three = Array.from({ length: 3 }, (_, i) => ({ id: `g${i}`, type: 'api_calls' }));
      await http().post('/v1/events').set('X-API-Key', key).send({ events: three }).expect(429);
      const two = three.slice(0, 2);
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ events: two })
        .expect(202, { accepted: 2, duplicates: 0 });
      await http()
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 'g9', type: 'api_calls' })
        .expect(429);
      expect(await countEvents(orgId)).toBe(10);
    });
  });

  describe('@Metered routes and verify', () => {
    it('records one api_calls event per GET /v1/ping, idempotent on the request id', async () => {
      const { orgId, key } = await orgWithKey();
      for (let i = 0; i < 3; i++)
        await http().get('/v1/ping').set('X-API-Key', key).expect(200, { pong: true });
      await http().get('/v1/ping').set('X-API-Key', key).set('X-Request-Id', 'retry-1').expect(200);
      await http().get('/v1/ping').set('X-API-Key', key).set('X-Request-Id', 'retry-1').expect(200);
      expect(await countEvents(orgId)).toBe(4);
      const ids = await db().query(
        `SELECT event_id FROM usage_events WHERE org_id = $1 AND event_id = 'req:retry-1'`,
        [orgId],
      );
      expect(ids).toHaveLength(1);
    });

    it('refuses ping past the hard quota of api_calls', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push((await http().get('/v1/ping').set('X-API-Key', key)).status);
      expect(statuses).toEqual([...Array(10).fill(200), 429, 429]);
      const refused = await http().get('/v1/ping').set('X-API-Key', key).expect(429);
      expect(refused.body.code).toBe('quota_exceeded');
      expect(await countEvents(orgId)).toBe(10);
    });

    it('records verify usage once per Idempotency-Key and reports the quota', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const first = await http()
        .post('/v1/verify')
        .set('X-API-Key', key)
        .set('Idempotency-Key', 'order-42')
        .send({ meter: 'api_calls', cost: 3 })
        .expect(200);
      expect(first.body).toMatchObject({
        valid: true,
        code: 'VALID',
        quota: { meter: 'api_calls', limit: 10, remaining: 7 },
      });
      const again = await http()
        .post('/v1/verify')
        .set('X-API-Key', key)
        .set('Idempotency-Key', 'order-42')
        .send({ meter: 'api_calls', cost: 3 })
        .expect(200);
      expect(again.body).toMatchObject({ valid: true, quota: { remaining: 7 } });
      expect(await countEvents(orgId)).toBe(3);
      const over = await http()
        .post('/v1/verify')
        .set('X-API-Key', key)
        .send({ meter: 'api_calls', cost: 8 })
        .expect(200);
      expect(over.body).toMatchObject({
        valid: false,
        code: 'QUOTA_EXCEEDED',
        quota: { meter: 'api_calls', limit: 10, remaining: 7 },
      });
      expect(await countEvents(orgId)).toBe(3);
    });

    it('refuses verify for an unknown meter or a fractional count cost with 400', async () => {
      const { key } = await orgWithKey();
      await http().post('/v1/verify').set('X-API-Key', key).send({ meter: 'nope' }).expect(400);
      await http()
        .post('/v1/verify')
        .set('X-API-Key', key)
        .send({ meter: 'api_calls', cost: 1.5 })
        .expect(400);
      await http()
        .post('/v1/verify')
        .set('X-API-Key', key)
        .send({ meter: 'api_calls', cost: -1 })
        .expect(400);
    });
  });

  describeWithRedis('when Redis is unreachable', () => {
    let redis: DisposableRedis;
    beforeAll(async () => {
      redis = await DisposableRedis.start();
    });
    afterAll(() => redis.stop());

    it('decides hard quotas against Postgres, exactly, and rebuilds the counters when Redis returns', async () => {
      const instance = await ctx.startApp({
        REDIS_URL: redis.url,
        RATE_LIMIT_FAILURE_MODE: 'open',
      });
      const { orgId, key } = await orgWithKey('tiny');
      const four = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}`, type: 'api_calls' }));
      await http(instance)
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ events: four })
        .expect(202);

      await redis.stop();
      const statuses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          http(instance)
            .post('/v1/events')
            .set('X-API-Key', key)
            .send({ id: `d${i}`, type: 'api_calls' })
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 202)).toHaveLength(6);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
      expect(await countEvents(orgId)).toBe(10);

      await redis.resume();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the client reconnects within a second
      const after = await http(instance)
        .post('/v1/events')
        .set('X-API-Key', key)
        .send({ id: 'late', type: 'api_calls' });
      expect(after.status).toBe(429);
      expect(await countEvents(orgId)).toBe(10);
    });
  });
});
