import { ApiKeyVerifier } from '../src/api-keys/api-key-verifier.service';
import {
  createApiKey,
  createMeter,
  createOrg,
  createPlatformAdmin,
  createUser,
  createUsers,
  TestUser,
} from './support/factories';
import { Api, api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

const flat = (unitAmount: number | string) => ({ model: 'flat', unitAmount });

describe('Catalogue: meters and plans', () => {
  const e2e = setupTestContext();
  let admin: TestUser;
  let user: TestUser;

  function plan(overrides: Record<string, unknown> = {}) {
    return {
      code: `plan_${Math.random().toString(36).slice(2, 10)}`,
      name: 'Team',
      currency: 'EUR',
      baseFee: 1900,
      rateLimit: { limit: 50, periodSeconds: 1 },
      meters: [{ meter: 'api_calls', included: 5000, enforcement: 'soft', price: flat('0.2') }],
      ...overrides,
    };
  }

  beforeAll(async () => {
    [admin, user] = await Promise.all([createPlatformAdmin(e2e.app), createUser(e2e.app)]);
  });

  describe('the seeded catalogue', () => {
    it('has the api_calls count meter', async () => {
      const res = await api(e2e.app, asUser(admin)).get('/admin/meters').expect(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.data).toContainEqual({
        slug: 'api_calls',
        name: 'API calls',
        aggregation: 'count',
        valueProperty: null,
        groupBy: [],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    });

    it("has the free, pro and enterprise plans with the contract's limits and quotas", async () => {
      const res = await api(e2e.app, asUser(admin)).get('/admin/plans').expect(200);
      const byCode = Object.fromEntries(
        res.body.data.map((p: { code: string }) => [p.code, p]),
      ) as Record<string, unknown>;
      const seeded = (
        limit: number,
        included: number,
        enforcement: string,
        baseFee: number,
        unitAmount: string,
      ) => ({
        currency: 'USD',
        baseFee,
        rateLimit: { limit, periodSeconds: 1 },
        meters: [{ meter: 'api_calls', included, enforcement, price: flat(unitAmount) }],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(byCode.free).toMatchObject({ name: 'Free', ...seeded(10, 1_000, 'hard', 0, '0') });
      expect(byCode.pro).toMatchObject({
        name: 'Pro',
        ...seeded(100, 100_000, 'soft', 4900, '0.1'),
      });
      expect(byCode.enterprise).toMatchObject({
        name: 'Enterprise',
        ...seeded(1_000, 10_000_000, 'soft', 99_900, '0.05'),
      });
      // Cheapest first.
      expect(res.body.data.map((p: { code: string }) => p.code).slice(0, 3)).toEqual([
        'free',
        'pro',
        'enterprise',
      ]);
    });

    it('lists plans publicly, without sign-in and without admin timestamps', async () => {
      const res = await api(e2e.app).get('/plans').expect(200);
      const free = res.body.data.find((p: { code: string }) => p.code === 'free');
      expect(free).toEqual({
        code: 'free',
        name: 'Free',
        currency: 'USD',
        baseFee: 0,
        rateLimit: { limit: 10, periodSeconds: 1 },
        meters: [{ meter: 'api_calls', included: 1000, enforcement: 'hard', price: flat('0') }],
      });
      expect(res.body.nextCursor).toBeNull();
    });

    it('pages plans with limit and cursor', async () => {
      const first = await api(e2e.app).get('/plans?limit=2').expect(200);
      expect(first.body.data.map((p: { code: string }) => p.code)).toEqual(['free', 'pro']);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await api(e2e.app)
        .get(`/plans?limit=2&cursor=${first.body.nextCursor}`)
        .expect(200);
      expect(second.body.data[0].code).toBe('enterprise');
      await api(e2e.app).get('/plans?cursor=bm9wZQ').expect(400);
    });
  });

  describe('access', () => {
    const adminRoutes: [keyof Api, string][] = [
      ['get', '/admin/meters'],
      ['get', '/admin/meters/api_calls'],
      ['post', '/admin/meters'],
      ['put', '/admin/meters/api_calls'],
      ['get', '/admin/plans'],
      ['get', '/admin/plans/free'],
      ['post', '/admin/plans'],
      ['put', '/admin/plans/free'],
    ];

    it.each(adminRoutes)('%s %s is 401 without a token', async (method, path) => {
      const res = await api(e2e.app)[method](path).send({});
      expect(res.status).toBe(401);
    });

    it.each(adminRoutes)(
      '%s %s is 403 platform_admin_required for a signed-in non-admin',
      async (method, path) => {
        const res = await api(e2e.app, asUser(user))
          [method](path)
          .send({ slug: 'sneaky', name: 'x', aggregation: 'count' });
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('platform_admin_required');
      },
    );

    it('stores nothing a non-admin sent', async () => {
      await api(e2e.app, asUser(admin)).get('/admin/meters/sneaky').expect(404);
    });
  });

  describe('meters', () => {
    it.each([
      ['count', { slug: 'requests', name: 'Requests', aggregation: 'count' }],
      [
        'sum',
        {
          slug: 'tokens',
          name: 'Tokens',
          aggregation: 'sum',
          valueProperty: 'tokens',
          groupBy: ['model', 'region'],
        },
      ],
      [
        'max',
        { slug: 'peak_seats', name: 'Peak seats', aggregation: 'max', valueProperty: 'seats' },
      ],
      [
        'unique_count',
        {
          slug: 'active_users',
          name: 'Active users',
          aggregation: 'unique_count',
          valueProperty: 'user_id',
        },
      ],
      [
        'latest',
        { slug: 'storage_gb', name: 'Storage', aggregation: 'latest', valueProperty: 'gb' },
      ],
    ])('creates a %s meter', async (_, body) => {
      const res = await api(e2e.app, asUser(admin)).post('/admin/meters').send(body).expect(201);
      expect(res.body).toEqual({
        valueProperty: null,
        groupBy: [],
        ...body,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const listed = await api(e2e.app, asUser(admin)).get('/admin/meters?limit=200').expect(200);
      expect(listed.body.data.map((m: { slug: string }) => m.slug)).toContain(body.slug);
    });

    it('refuses a duplicate slug with 409 meter_exists', async () => {
      const res = await api(e2e.app, asUser(admin))
        .post('/admin/meters')
        .send({ slug: 'api_calls', name: 'Again', aggregation: 'count' })
        .expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, code: 'meter_exists' });
    });

    it.each([
      ['sum without valueProperty', { slug: 'm1', name: 'x', aggregation: 'sum' }],
      [
        'avg with a null valueProperty',
        { slug: 'm1', name: 'x', aggregation: 'avg', valueProperty: null },
      ],
      [
        'unique_count without valueProperty',
        { slug: 'm1', name: 'x', aggregation: 'unique_count' },
      ],
      ['an unknown aggregation', { slug: 'm1', name: 'x', aggregation: 'median' }],
      ['a slug with capitals', { slug: 'Tokens', name: 'x', aggregation: 'count' }],
      ['a slug starting with a digit', { slug: '1tokens', name: 'x', aggregation: 'count' }],
      ['an empty name', { slug: 'm1', name: '  ', aggregation: 'count' }],
      ['a bad groupBy key', { slug: 'm1', name: 'x', aggregation: 'count', groupBy: ['a.b'] }],
      [
        'a repeated groupBy key',
        { slug: 'm1', name: 'x', aggregation: 'count', groupBy: ['a', 'a'] },
      ],
      ['an unknown field', { slug: 'm1', name: 'x', aggregation: 'count', unit: 'ms' }],
    ])('refuses %s with 400 and stores nothing', async (_, body) => {
      const res = await api(e2e.app, asUser(admin)).post('/admin/meters').send(body).expect(400);
      expect(res.body.code).toBe('validation_failed');
      await api(e2e.app, asUser(admin)).get('/admin/meters/m1').expect(404);
    });

    it('lists every problem of a bad meter at once', async () => {
      const res = await api(e2e.app, asUser(admin))
        .post('/admin/meters')
        .send({ slug: 'Bad Slug', name: '', aggregation: 'sum' })
        .expect(400);
      expect(res.body.message).toEqual(
        expect.arrayContaining([
          expect.stringContaining('slug'),
          expect.stringContaining('name'),
          expect.stringContaining('valueProperty is required'),
        ]),
      );
    });

    it('updates the name and groupBy; slug, aggregation and valueProperty may only be echoed', async () => {
      await api(e2e.app, asUser(admin))
        .post('/admin/meters')
        .send({ slug: 'gpu_seconds', name: 'GPU', aggregation: 'sum', valueProperty: 'seconds' })
        .expect(201);
      const res = await api(e2e.app, asUser(admin))
        .put('/admin/meters/gpu_seconds')
        .send({
          slug: 'gpu_seconds',
          name: 'GPU seconds',
          aggregation: 'sum',
          valueProperty: 'seconds',
          groupBy: ['gpu'],
        })
        .expect(200);
      expect(res.body).toMatchObject({
        slug: 'gpu_seconds',
        name: 'GPU seconds',
        aggregation: 'sum',
        valueProperty: 'seconds',
        groupBy: ['gpu'],
      });
      expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThanOrEqual(
        new Date(res.body.createdAt).getTime(),
      );

      for (const change of [
        { aggregation: 'max' },
        { slug: 'gpu_minutes' },
        { valueProperty: 'minutes' },
      ]) {
        const refused = await api(e2e.app, asUser(admin))
          .put('/admin/meters/gpu_seconds')
          .send({ name: 'Changed', ...change })
          .expect(400);
        expect(refused.body.code).toBe('immutable_field');
      }
      const after = await api(e2e.app, asUser(admin)).get('/admin/meters/gpu_seconds').expect(200);
      expect(after.body).toMatchObject({ name: 'GPU seconds', aggregation: 'sum' });
    });

    it('answers 404 meter_not_found for an unknown slug on PUT', async () => {
      const res = await api(e2e.app, asUser(admin))
        .put('/admin/meters/nope')
        .send({ name: 'x' })
        .expect(404);
      expect(res.body.code).toBe('meter_not_found');
    });
  });

  describe('plans', () => {
    beforeAll(async () => {
      await createMeter(e2e.app, admin, {
        slug: 'llm_tokens',
        name: 'LLM tokens',
        aggregation: 'sum',
        valueProperty: 'tokens',
      });
    });

    it('creates a plan with every price model and reads it back', async () => {
      const body = plan({
        code: 'scale',
        meters: [
          {
            meter: 'api_calls',
            included: 10_000,
            enforcement: 'soft',
            price: {
              model: 'graduated',
              tiers: [
                { upTo: 100_000, unitAmount: '0.1', flatAmount: 500 },
                { upTo: null, unitAmount: '0.05' },
              ],
            },
          },
          {
            meter: 'llm_tokens',
            included: 0,
            enforcement: 'hard',
            price: { model: 'package', packageSize: 1000, packageAmount: 2 },
          },
        ],
      });
      const res = await api(e2e.app, asUser(admin)).post('/admin/plans').send(body).expect(201);
      expect(res.body).toEqual({
        ...body,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const read = await api(e2e.app, asUser(admin)).get('/admin/plans/scale').expect(200);
      expect(read.body).toEqual(res.body);

      const volume = plan({
        meters: [
          {
            meter: 'llm_tokens',
            included: 1,
            enforcement: 'soft',
            price: {
              model: 'volume',
              tiers: [
                { upTo: 10, unitAmount: 3 },
                { upTo: null, unitAmount: '2.5', flatAmount: '100' },
              ],
            },
          },
        ],
      });
      await api(e2e.app, asUser(admin)).post('/admin/plans').send(volume).expect(201);
      const publicList = await api(e2e.app).get('/plans').expect(200);
      expect(publicList.body.data.map((p: { code: string }) => p.code)).toEqual(
        expect.arrayContaining(['scale', volume.code]),
      );
    });

    it('refuses a duplicate code with 409 plan_exists', async () => {
      const res = await api(e2e.app, asUser(admin))
        .post('/admin/plans')
        .send(plan({ code: 'pro' }))
        .expect(409);
      expect(res.body.code).toBe('plan_exists');
    });

    const withPrice = (price: unknown) =>
      plan({
        code: 'bad_plan',
        meters: [{ meter: 'api_calls', included: 1, enforcement: 'soft', price }],
      });

    it.each([
      ['an unknown model', withPrice({ model: 'tiered', unitAmount: 1 })],
      ['a negative amount', withPrice(flat(-1))],
      ['a fractional number amount', withPrice(flat(0.5))],
      ['a bad decimal string', withPrice(flat('1.2.3'))],
      ['empty tiers', withPrice({ model: 'graduated', tiers: [] })],
      [
        'non-increasing upTo',
        withPrice({
          model: 'graduated',
          tiers: [
            { upTo: 10, unitAmount: 1 },
            { upTo: 10, unitAmount: 1 },
            { upTo: null, unitAmount: 1 },
          ],
        }),
      ],
      ['a bounded last tier', withPrice({ model: 'volume', tiers: [{ upTo: 10, unitAmount: 1 }] })],
      [
        'a null upTo before the last tier',
        withPrice({
          model: 'volume',
          tiers: [
            { upTo: null, unitAmount: 1 },
            { upTo: null, unitAmount: 1 },
          ],
        }),
      ],
      ['package size 0', withPrice({ model: 'package', packageSize: 0, packageAmount: 1 })],
      ['an unknown field in the price', withPrice({ ...flat(1), cap: 10 })],
      [
        'a missing price',
        plan({
          code: 'bad_plan',
          meters: [{ meter: 'api_calls', included: 1, enforcement: 'soft' }],
        }),
      ],
    ])('refuses a price model with %s (400) and stores nothing', async (_, body) => {
      const res = await api(e2e.app, asUser(admin)).post('/admin/plans').send(body).expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.message).toEqual([expect.stringMatching(/^meters\.0\.price /)]);
      await api(e2e.app, asUser(admin)).get('/admin/plans/bad_plan').expect(404);
    });

    it.each([
      ['a currency that is not ISO-4217', plan({ code: 'bad_plan', currency: 'usd' })],
      ['a negative base fee', plan({ code: 'bad_plan', baseFee: -1 })],
      ['a fractional base fee', plan({ code: 'bad_plan', baseFee: 9.99 })],
      ['a zero rate limit', plan({ code: 'bad_plan', rateLimit: { limit: 0, periodSeconds: 1 } })],
      ['a bad code', plan({ code: 'Bad Plan' })],
      [
        'a negative included amount',
        plan({
          code: 'bad_plan',
          meters: [{ meter: 'api_calls', included: -1, enforcement: 'soft', price: flat(1) }],
        }),
      ],
      [
        'an unknown enforcement',
        plan({
          code: 'bad_plan',
          meters: [{ meter: 'api_calls', included: 1, enforcement: 'strict', price: flat(1) }],
        }),
      ],
      [
        'the same meter twice',
        plan({
          code: 'bad_plan',
          meters: [
            { meter: 'api_calls', included: 1, enforcement: 'soft', price: flat(1) },
            { meter: 'api_calls', included: 2, enforcement: 'hard', price: flat(1) },
          ],
        }),
      ],
      ['an unknown field', { ...plan({ code: 'bad_plan' }), trialDays: 14 }],
      [
        'an unknown field in a plan meter',
        plan({
          code: 'bad_plan',
          meters: [
            { meter: 'api_calls', included: 1, enforcement: 'soft', price: flat(1), cap: 5 },
          ],
        }),
      ],
    ])('refuses %s with 400', async (_, body) => {
      const res = await api(e2e.app, asUser(admin)).post('/admin/plans').send(body).expect(400);
      expect(res.body.code).toBe('validation_failed');
      await api(e2e.app, asUser(admin)).get('/admin/plans/bad_plan').expect(404);
    });

    it('refuses a plan naming an unknown meter with 400 unknown_meter naming it', async () => {
      const res = await api(e2e.app, asUser(admin))
        .post('/admin/plans')
        .send(
          plan({
            code: 'bad_plan',
            meters: [
              { meter: 'api_calls', included: 1, enforcement: 'soft', price: flat(1) },
              { meter: 'no_such_meter', included: 1, enforcement: 'soft', price: flat(1) },
            ],
          }),
        )
        .expect(400);
      expect(res.body.code).toBe('unknown_meter');
      expect(res.body.message).toEqual([expect.stringContaining('"no_such_meter"')]);
      expect(res.body.message[0]).toMatch(/^meters\.1\.meter/);
      await api(e2e.app, asUser(admin)).get('/admin/plans/bad_plan').expect(404);
    });

    it('answers 404 plan_not_found for an unknown code', async () => {
      const get = await api(e2e.app, asUser(admin)).get('/admin/plans/nope').expect(404);
      expect(get.body.code).toBe('plan_not_found');
      const { code: _code, ...content } = plan();
      const put = await api(e2e.app, asUser(admin))
        .put('/admin/plans/nope')
        .send(content)
        .expect(404);
      expect(put.body.code).toBe('plan_not_found');
    });

    it("replaces everything but the code, and the plan's keys get the new rate limit at once", async () => {
      const body = plan();
      await api(e2e.app, asUser(admin)).post('/admin/plans').send(body).expect(201);
      const owner = await createUser(e2e.app);
      const orgId = await createOrg(e2e.app, owner, { plan: body.code });
      const { key } = await createApiKey(e2e.app, owner, orgId);
      const verifier = e2e.app.get(ApiKeyVerifier);
      const before = await verifier.check(key);
      expect(before.key?.rateLimit).toEqual({ limit: 50, periodSeconds: 1 });

      const replacement = {
        code: body.code,
        name: 'Team (2025)',
        currency: 'USD',
        baseFee: 2900,
        rateLimit: { limit: 75, periodSeconds: 2 },
        meters: [
          {
            meter: 'llm_tokens',
            included: 1_000_000,
            enforcement: 'hard',
            price: { model: 'package', packageSize: 1000, packageAmount: '1.5' },
          },
        ],
      };
      const invalidate = jest.spyOn(verifier, 'invalidate');
      try {
        const res = await api(e2e.app, asUser(admin))
          .put(`/admin/plans/${body.code}`)
          .send(replacement)
          .expect(200);
        expect(res.body).toMatchObject(replacement);
        expect(invalidate).toHaveBeenCalledWith({ all: true });
      } finally {
        invalidate.mockRestore();
      }
      const read = await api(e2e.app, asUser(admin)).get(`/admin/plans/${body.code}`).expect(200);
      expect(read.body).toMatchObject(replacement);
      const after = await verifier.check(key);
      expect(after.key?.rateLimit).toEqual({ limit: 75, periodSeconds: 2 });
    });

    it('refuses to change a code on PUT, and validates PUT bodies like POST', async () => {
      const { code: _code, ...content } = plan();
      const renamed = await api(e2e.app, asUser(admin))
        .put('/admin/plans/pro')
        .send({ ...content, code: 'pro2' })
        .expect(400);
      expect(renamed.body.code).toBe('immutable_field');
      const invalid = await api(e2e.app, asUser(admin))
        .put('/admin/plans/pro')
        .send({
          ...content,
          meters: [{ meter: 'api_calls', included: 1, enforcement: 'soft', price: flat('x') }],
        })
        .expect(400);
      expect(invalid.body.code).toBe('validation_failed');
      const unknown = await api(e2e.app, asUser(admin))
        .put('/admin/plans/pro')
        .send({
          ...content,
          meters: [{ meter: 'ghost', included: 1, enforcement: 'soft', price: flat(1) }],
        })
        .expect(400);
      expect(unknown.body.code).toBe('unknown_meter');
      const pro = await api(e2e.app, asUser(admin)).get('/admin/plans/pro').expect(200);
      expect(pro.body).toMatchObject({ name: 'Pro', rateLimit: { limit: 100, periodSeconds: 1 } });
    });
  });

  describe("changing an org's plan", () => {
    let owner: TestUser;
    let orgAdmin: TestUser;
    let member: TestUser;
    let outsider: TestUser;
    let orgId: string;

    beforeAll(async () => {
      [owner, orgAdmin, member, outsider] = await createUsers(e2e.app, 4);
      orgId = await createOrg(e2e.app, owner, {
        members: [
          [orgAdmin, 'admin'],
          [member, 'member'],
        ],
      });
    });

    it('lets the owner move the org to another plan, audited, with its keys on the new limit', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId);
      const verifier = e2e.app.get(ApiKeyVerifier);
      expect((await verifier.check(key)).key?.rateLimit.limit).toBe(10);

      const res = await api(e2e.app, asUser(owner))
        .put(`/orgs/${orgId}/plan`)
        .send({ plan: 'pro' })
        .expect(200);
      expect(res.body).toEqual({
        id: orgId,
        name: 'Acme',
        plan: 'pro',
        role: 'owner',
        createdAt: expect.any(String),
      });
      const org = await api(e2e.app, asUser(member)).get(`/orgs/${orgId}`).expect(200);
      expect(org.body.plan).toBe('pro');

      const audit = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/audit-events`)
        .expect(200);
      expect(audit.body.data[0]).toMatchObject({
        actorUserId: owner.id,
        action: 'org.plan_changed',
        targetType: 'org',
        targetId: orgId,
        meta: { from: 'free', to: 'pro' },
      });

      expect((await verifier.check(key)).key?.rateLimit).toEqual({ limit: 100, periodSeconds: 1 });
    });

    it('records nothing when the org is already on the plan', async () => {
      const before = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/audit-events`);
      await api(e2e.app, asUser(owner))
        .put(`/orgs/${orgId}/plan`)
        .send({ plan: 'pro' })
        .expect(200);
      const after = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/audit-events`);
      expect(after.body.data).toHaveLength(before.body.data.length);
    });

    it('is 403 for an admin or a member of the org, 404 for an outsider, 401 anonymous', async () => {
      for (const u of [orgAdmin, member]) {
        const res = await api(e2e.app, asUser(u))
          .put(`/orgs/${orgId}/plan`)
          .send({ plan: 'enterprise' })
          .expect(403);
        expect(res.body.code).toBe('insufficient_role');
      }
      const res = await api(e2e.app, asUser(outsider))
        .put(`/orgs/${orgId}/plan`)
        .send({ plan: 'enterprise' })
        .expect(404);
      expect(res.body.code).toBe('org_not_found');
      await api(e2e.app).put(`/orgs/${orgId}/plan`).send({ plan: 'enterprise' }).expect(401);
      const org = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}`).expect(200);
      expect(org.body.plan).toBe('pro');
    });

    it('answers 404 plan_not_found for an unknown plan and changes nothing', async () => {
      const res = await api(e2e.app, asUser(owner))
        .put(`/orgs/${orgId}/plan`)
        .send({ plan: 'platinum' })
        .expect(404);
      expect(res.body.code).toBe('plan_not_found');
      const org = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}`).expect(200);
      expect(org.body.plan).toBe('pro');
    });

    it.each([
      ['no plan', {}],
      ['a plan that is not a string', { plan: 3 }],
      ['an unknown field', { plan: 'free', reason: 'cheaper' }],
    ])('refuses %s with 400', async (_, body) => {
      await api(e2e.app, asUser(owner)).put(`/orgs/${orgId}/plan`).send(body).expect(400);
    });
  });
});
