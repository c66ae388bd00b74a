import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  ApiKeyScope,
  createMeter,
  createOrgWithKey,
  createPlan,
  createPlatformAdmin,
  createUser,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, withKey } from './support/http';
import { describeWithRedis, DisposableRedis, hasSharedRedis } from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { countStoredEvents } from './support/stored-events';
import { eventually } from './support/time';

describe('metering', () => {
  const e2e = setupTestContext();
  let owner: TestUser;

  const db = () => e2e.app.get(DataSource);
  /** The route under test, with the key; the test states the status it expects. */
  const postEvents = (key: string, body: object, app: INestApplication = e2e.app) =>
    api(app, withKey(key)).post('/v1/events').send(body);

  /**
   * A fresh org on `plan` (default `roomy`: the free plan's hard quota of 1000 api_calls, with a
   * rate limit out of the way) with a key.
   */
  const orgWithKey = (plan = 'roomy', scopes?: ApiKeyScope[]) =>
    createOrgWithKey(e2e.app, owner, { plan }, { name: 'ingest', scopes });

  const countEvents = (orgId: string, meter = 'api_calls') =>
    countStoredEvents(e2e.app, orgId, meter);

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    await createMeter(e2e.app, admin, {
      slug: 'tokens',
      name: 'Tokens',
      aggregation: 'sum',
      valueProperty: 'tokens',
    });
    for (const [code, meter, included, enforcement] of [
      ['roomy', 'api_calls', 1000, 'hard'],
      ['tiny', 'api_calls', 10, 'hard'],
      ['tiny_tokens', 'tokens', 100, 'hard'],
      ['soft', 'api_calls', 3, 'soft'],
    ] as const) {
      await createPlan(e2e.app, admin, { code, meters: [{ meter, included, enforcement }] });
    }
  });

  describe('POST /v1/events', () => {
    it('accepts one event or a batch (202), and counts duplicates within and across batches', async () => {
      const { orgId, key } = await orgWithKey();
      const one = await postEvents(key, { id: 'a1', type: 'api_calls' }).expect(202);
      expect(one.body).toEqual({ accepted: 1, duplicates: 0 });
      const batch = await postEvents(key, {
        events: [
          { id: 'a1', type: 'api_calls' },
          { id: 'a2', type: 'api_calls' },
          { id: 'a2', type: 'api_calls' },
        ],
      }).expect(202);
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
      await postEvents(key, { id: 'same', type: 'tokens', data: { tokens: 5 } }).expect(202);
      const again = await postEvents(key, {
        id: 'same',
        type: 'tokens',
        data: { tokens: 500 },
      }).expect(202);
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
      await postEvents(a.key, { id: 'shared', type: 'api_calls' }).expect(202, {
        accepted: 1,
        duplicates: 0,
      });
      await postEvents(b.key, { id: 'shared', type: 'api_calls' }).expect(202, {
        accepted: 1,
        duplicates: 0,
      });
    });

    it('refuses a batch with one bad event whole, naming each bad event, and stores nothing', async () => {
      const { orgId, key } = await orgWithKey();
      const res = await postEvents(key, {
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
      }).expect(400);
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
      await postEvents(key, { events: tooMany }).expect(400);
      const big = Array.from({ length: 200 }, (_, i) => ({
        id: `big${i}`,
        type: 'api_calls',
        data: { pad: 'x'.repeat(6000) },
      }));
      await postEvents(key, { events: big }).expect(202, { accepted: 200, duplicates: 0 });
      const readOnly = await orgWithKey(undefined, ['usage:read']);
      const res = await postEvents(readOnly.key, { id: 'x', type: 'api_calls' }).expect(403);
      expect(res.body.code).toBe('insufficient_scope');
    });
  });

  describe('hard quotas', () => {
    it('never lets usage end above the quota: 60 concurrent events against 10 (two instances when Redis is shared)', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const instances = hasSharedRedis ? [e2e.app, await e2e.ctx.startApp()] : [e2e.app];
      const statuses = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          postEvents(key, { id: `q${i}`, type: 'api_calls' }, instances[i % instances.length]).then(
            (r) => r.status,
          ),
        ),
      );
      expect(statuses.filter((s) => s === 202)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(50);
      expect(await countEvents(orgId)).toBe(10);
    });

    it('answers 429 quota_exceeded with Retry-After until the next month', async () => {
      const { key } = await orgWithKey('tiny_tokens');
      await postEvents(key, { id: 't1', type: 'tokens', data: { tokens: 90 } }).expect(202);
      const res = await postEvents(key, {
        id: 't2',
        type: 'tokens',
        data: { tokens: 11 },
      }).expect(429);
      expect(res.body).toMatchObject({ statusCode: 429, code: 'quota_exceeded' });
      const now = new Date();
      const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      expect(
        Math.abs(Number(res.headers['retry-after']) - (nextMonth - Date.now()) / 1000),
      ).toBeLessThan(5);
      await postEvents(key, { id: 't3', type: 'tokens', data: { tokens: 10 } }).expect(202);
    });

    it('does not charge duplicates against the quota', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      for (let i = 0; i < 3; i++)
        await postEvents(key, { id: 'dup', type: 'api_calls' }).expect(202);
      const rest = Array.from({ length: 9 }, (_, i) => ({ id: `r${i}`, type: 'api_calls' }));
      await postEvents(key, { events: rest }).expect(202, { accepted: 9, duplicates: 0 });
      expect(await countEvents(orgId)).toBe(10);
    });

    it('accepts usage past a soft quota', async () => {
      const { orgId, key } = await orgWithKey('soft');
      const events = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, type: 'api_calls' }));
      await postEvents(key, { events }).expect(202, { accepted: 5, duplicates: 0 });
      expect(await countEvents(orgId)).toBe(5);
    });

    it('rebuilds a lost quota counter from Postgres, neither resetting nor double-counting', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const eight = Array.from({ length: 8 }, (_, i) => ({ id: `f${i}`, type: 'api_calls' }));
      await sendEvents(e2e.app, key, eight);
      let instance = e2e.app;
      if (hasSharedRedis) {
        // FLUSHALL, limited to this spec's keys (other spec files share the server).
        await e2e.ctx.flushRedis();
      } else {
        // The embedded limiter loses its counters with the process: a new instance starts empty.
        instance = await e2e.ctx.startApp();
      }
      const three = Array.from({ length: 3 }, (_, i) => ({ id: `g${i}`, type: 'api_calls' }));
      await postEvents(key, { events: three }, instance).expect(429);
      const two = three.slice(0, 2);
      await postEvents(key, { events: two }, instance).expect(202, { accepted: 2, duplicates: 0 });
      await postEvents(key, { id: 'g9', type: 'api_calls' }, instance).expect(429);
      expect(await countEvents(orgId)).toBe(10);
    });
  });

  describe('@Metered routes and verify', () => {
    it('records one api_calls event per GET /v1/ping, under an id the server makes', async () => {
      const { orgId, key } = await orgWithKey();
      for (let i = 0; i < 3; i++)
        await api(e2e.app, withKey(key)).get('/v1/ping').expect(200, { pong: true });
      // X-Request-Id names the request in logs and nothing else: it never decides what is metered.
      for (let i = 0; i < 2; i++) {
        const res = await api(e2e.app, withKey(key))
          .get('/v1/ping')
          .set('X-Request-Id', 'retry-1')
          .expect(200);
        expect(res.headers['x-request-id']).toBe('retry-1');
      }
      expect(await countEvents(orgId)).toBe(5);
      const ids: { event_id: string }[] = await db().query(
        `SELECT event_id FROM usage_events WHERE org_id = $1`,
        [orgId],
      );
      expect(ids.filter((r) => r.event_id.includes('retry-1'))).toEqual([]);
      expect(new Set(ids.map((r) => r.event_id)).size).toBe(5);
    });

    it('refuses ping past the hard quota of api_calls', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push((await api(e2e.app, withKey(key)).get('/v1/ping')).status);
      expect(statuses).toEqual([...Array(10).fill(200), 429, 429]);
      const refused = await api(e2e.app, withKey(key)).get('/v1/ping').expect(429);
      expect(refused.body.code).toBe('quota_exceeded');
      expect(await countEvents(orgId)).toBe(10);
    });

    it('records verify usage once per Idempotency-Key and reports the quota', async () => {
      const { orgId, key } = await orgWithKey('tiny');
      const first = await api(e2e.app, withKey(key))
        .post('/v1/verify')
        .set('Idempotency-Key', 'order-42')
        .send({ meter: 'api_calls', cost: 3 })
        .expect(200);
      expect(first.body).toMatchObject({
        valid: true,
        code: 'VALID',
        quota: { meter: 'api_calls', limit: 10, remaining: 7 },
      });
      const again = await api(e2e.app, withKey(key))
        .post('/v1/verify')
        .set('Idempotency-Key', 'order-42')
        .send({ meter: 'api_calls', cost: 3 })
        .expect(200);
      expect(again.body).toMatchObject({ valid: true, quota: { remaining: 7 } });
      expect(await countEvents(orgId)).toBe(3);
      const over = await api(e2e.app, withKey(key))
        .post('/v1/verify')
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
      await api(e2e.app, withKey(key)).post('/v1/verify').send({ meter: 'nope' }).expect(400);
      await api(e2e.app, withKey(key))
        .post('/v1/verify')
        .send({ meter: 'api_calls', cost: 1.5 })
        .expect(400);
      await api(e2e.app, withKey(key))
        .post('/v1/verify')
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
      const instance = await e2e.ctx.startApp({
        REDIS_URL: redis.url,
        RATE_LIMIT_FAILURE_MODE: 'open',
      });
      const { orgId, key } = await orgWithKey('tiny');
      const four = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}`, type: 'api_calls' }));
      await sendEvents(instance, key, four);

      await redis.stop();
      const statuses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          postEvents(key, { id: `d${i}`, type: 'api_calls' }, instance).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 202)).toHaveLength(6);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
      expect(await countEvents(orgId)).toBe(10);

      await redis.resume();
      // Back on Redis (the instance's readiness pings the client the quotas use), where the
      // counter of this month is gone and must be rebuilt from Postgres.
      await eventually(() => api(instance).get('/health/ready').expect(200), { timeoutMs: 5000 });
      const after = await postEvents(key, { id: 'late', type: 'api_calls' }, instance);
      expect(after.status).toBe(429);
      expect(await countEvents(orgId)).toBe(10);
    });
  });
});
