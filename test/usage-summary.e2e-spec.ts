import { DataSource } from 'typeorm';
import { createApiKey, createOrg, createPlan, sendEvents, TestUser } from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';
import {
  AGGREGATION,
  createUsageWorkload,
  METERS,
  SEED,
  Truth,
  truthValue,
} from './support/usage-workload';

describe(`usage reports (seed ${SEED})`, () => {
  const e2e = setupTestContext();
  let admin: TestUser, owner: TestUser, outsider: TestUser;
  let orgId: string, readKey: string, writeOnlyKey: string, truths: Truth[];

  beforeAll(async () => {
    ({ admin, owner, outsider, orgId, readKey, writeOnlyKey, truths } = await createUsageWorkload(
      e2e.app,
    ));
  });

  const db = () => e2e.app.get(DataSource);
  const summary = (period?: string, org = orgId) =>
    api(e2e.app, asUser(owner))
      .get(`/orgs/${org}/usage/summary`)
      .query(period ? { period } : {})
      .expect(200);
  const periods = () => [...new Set(truths.map((t) => t.period))].sort();
  const truthOf = (meter: string, period: string) =>
    truths.find((t) => t.meter === meter && t.period === period);

  it('stored a workload that spans every meter', async () => {
    expect(new Set(truths.map((t) => t.meter))).toEqual(new Set(METERS.map((m) => m.slug)));
    const [{ n }] = await db().query(
      `SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1`,
      [orgId],
    );
    expect(n).toBeGreaterThan(300);
  });

  describe('GET /orgs/:orgId/usage/summary', () => {
    it('equals the aggregation of the raw events, for every meter and period', async () => {
      for (const period of periods()) {
        const res = await summary(period);
        expect(res.body.period).toBe(period);
        const used = truths.filter((t) => t.period === period);
        for (const truth of used) {
          const line = res.body.data.find((l: { meter: string }) => l.meter === truth.meter);
          expect(line).toBeDefined();
          if (AGGREGATION[truth.meter] === 'avg')
            expect(line.value).toBeCloseTo(truthValue(truth), 9);
          else
            expect({ meter: truth.meter, value: line.value }).toEqual({
              meter: truth.meter,
              value: truthValue(truth),
            });
        }
        // Nothing else than the plan's meters and the meters used in the period.
        const expected = new Set(['api_calls', ...used.map((t) => t.meter)]);
        expect(new Set(res.body.data.map((l: { meter: string }) => l.meter))).toEqual(expected);
        expect(res.body.data).toHaveLength(expected.size);
      }
    });

    it("shows the plan's quota on its meters (api_calls, 1000, hard) and nulls on the others", async () => {
      for (const period of periods()) {
        const res = await summary(period);
        const [first, ...others] = res.body.data;
        const used = truthOf('api_calls', period)?.count ?? 0;
        expect(first).toEqual({
          meter: 'api_calls',
          value: used,
          included: 1000,
          remaining: 1000 - used,
          percentUsed: Math.round(used * 10) / 100,
          enforcement: 'hard',
        });
        for (const line of others) {
          expect(line).toMatchObject({
            included: null,
            remaining: null,
            percentUsed: null,
            enforcement: null,
          });
        }
        const slugs = others.map((l: { meter: string }) => l.meter);
        expect(slugs).toEqual([...slugs].sort());
      }
    });

    it('defaults to the current UTC month, and answers an unused month with the plan meters at 0', async () => {
      const current = new Date().toISOString().slice(0, 7);
      const res = await summary();
      expect(res.body.period).toBe(current);
      expect(res.body).toEqual((await summary(current)).body);
      const empty = await summary('2001-01');
      expect(empty.body).toEqual({
        period: '2001-01',
        data: [
          {
            meter: 'api_calls',
            value: 0,
            included: 1000,
            remaining: 1000,
            percentUsed: 0,
            enforcement: 'hard',
          },
        ],
      });
    });

    it('reports a planned meter with 0 included as percentUsed null, and an unused planned meter as 0', async () => {
      await createPlan(e2e.app, admin, {
        code: 'payg',
        name: 'Pay as you go',
        meters: [
          { meter: 'u_sum', included: 0, enforcement: 'soft' },
          { meter: 'u_max', included: 50, enforcement: 'soft' },
        ],
      });
      const org = await createOrg(e2e.app, owner, { name: 'Payg', plan: 'payg' });
      const key = await createApiKey(e2e.app, owner, org, { scopes: ['events:write'] });
      await sendEvents(e2e.app, key.key, [
        { id: 'a', type: 'u_sum', data: { v: 2.5 } },
        { id: 'b', type: 'u_sum', data: { v: 4 } },
        { id: 'c', type: 'api_calls' },
      ]);
      const res = await summary(undefined, org);
      expect(res.body.data).toEqual([
        {
          meter: 'u_sum',
          value: 6.5,
          included: 0,
          remaining: 0,
          percentUsed: null,
          enforcement: 'soft',
        },
        {
          meter: 'u_max',
          value: 0,
          included: 50,
          remaining: 50,
          percentUsed: 0,
          enforcement: 'soft',
        },
        {
          meter: 'api_calls',
          value: 1,
          included: null,
          remaining: null,
          percentUsed: null,
          enforcement: null,
        },
      ]);
    });

    it.each(['2026-13', '2026-1', '26-05', '2026-05-01', 'now', '1969-12'])(
      'refuses period=%s (400)',
      async (period) => {
        const res = await api(e2e.app, asUser(owner))
          .get(`/orgs/${orgId}/usage/summary`)
          .query({ period })
          .expect(400);
        expect(res.body.code).toBe('validation_failed');
      },
    );
  });

  describe('GET /v1/usage/summary', () => {
    it('answers a usage:read key with the same summary as the org route, and takes a rate-limit unit', async () => {
      for (const period of [...periods(), undefined]) {
        const res = await api(e2e.app, withKey(readKey))
          .get('/v1/usage/summary')
          .query(period ? { period } : {})
          .expect(200);
        expect(res.headers['ratelimit-limit']).toBe('100000');
        expect(res.body).toEqual((await summary(period)).body);
      }
    });

    it('refuses a key without usage:read (403 insufficient_scope), no key (401) and a bad period (400)', async () => {
      const forbidden = await api(e2e.app, withKey(writeOnlyKey))
        .get('/v1/usage/summary')
        .expect(403);
      expect(forbidden.body.code).toBe('insufficient_scope');
      await api(e2e.app).get('/v1/usage/summary').expect(401);
      await api(e2e.app, asUser(owner)).get('/v1/usage/summary').expect(401);
      const bad = await api(e2e.app, withKey(readKey))
        .get('/v1/usage/summary')
        .query({ period: '2026-5' })
        .expect(400);
      expect(bad.body.code).toBe('validation_failed');
    });
  });

  describe('tenancy', () => {
    it.each([
      ['/usage', { meter: 'api_calls', from: '2026-01-01', to: '2026-02-01' }],
      ['/usage/summary', {}],
      ['/usage/export', { from: '2026-01-01', to: '2026-02-01' }],
    ])('hides %s of an org from outsiders (404)', async (path, query) => {
      const res = await api(e2e.app, asUser(outsider))
        .get(`/orgs/${orgId}${path}`)
        .query(query)
        .expect(404);
      expect(res.body.code).toBe('org_not_found');
      await api(e2e.app).get(`/orgs/${orgId}${path}`).query(query).expect(401);
    });
  });
});
