import {
  createApiKey,
  createMeter,
  createOrg,
  createPlatformAdmin,
  createUser,
  flatPrice,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';

describe('Catalogue: meters and plans', () => {
  const e2e = setupTestContext();
  let admin: TestUser;

  function plan(overrides: Record<string, unknown> = {}) {
    return {
      code: `plan_${Math.random().toString(36).slice(2, 10)}`,
      name: 'Team',
      currency: 'EUR',
      baseFee: 1900,
      rateLimit: { limit: 50, periodSeconds: 1 },
      meters: [
        { meter: 'api_calls', included: 5000, enforcement: 'soft', price: flatPrice('0.2') },
      ],
      ...overrides,
    };
  }

  beforeAll(async () => {
    admin = await createPlatformAdmin(e2e.app);
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
      ['a negative amount', withPrice(flatPrice(-1))],
      ['a fractional number amount', withPrice(flatPrice(0.5))],
      ['a bad decimal string', withPrice(flatPrice('1.2.3'))],
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
      ['an unknown field in the price', withPrice({ ...flatPrice(1), cap: 10 })],
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
          meters: [{ meter: 'api_calls', included: -1, enforcement: 'soft', price: flatPrice(1) }],
        }),
      ],
      [
        'an unknown enforcement',
        plan({
          code: 'bad_plan',
          meters: [{ meter: 'api_calls', included: 1, enforcement: 'strict', price: flatPrice(1) }],
        }),
      ],
      [
        'the same meter twice',
        plan({
          code: 'bad_plan',
          meters: [
            { meter: 'api_calls', included: 1, enforcement: 'soft', price: flatPrice(1) },
            { meter: 'api_calls', included: 2, enforcement: 'hard', price: flatPrice(1) },
          ],
        }),
      ],
      ['an unknown field', { ...plan({ code: 'bad_plan' }), trialDays: 14 }],
      [
        'an unknown field in a plan meter',
        plan({
          code: 'bad_plan',
          meters: [
            { meter: 'api_calls', included: 1, enforcement: 'soft', price: flatPrice(1), cap: 5 },
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
              { meter: 'api_calls', included: 1, enforcement: 'soft', price: flatPrice(1) },
              { meter: 'no_such_meter', included: 1, enforcement: 'soft', price: flatPrice(1) },
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
      const before = await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      expect(before.headers['ratelimit-policy']).toBe('"default";q=50;w=1');

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
      const res = await api(e2e.app, asUser(admin))
        .put(`/admin/plans/${body.code}`)
        .send(replacement)
        .expect(200);
      expect(res.body).toMatchObject(replacement);
      const read = await api(e2e.app, asUser(admin)).get(`/admin/plans/${body.code}`).expect(200);
      expect(read.body).toMatchObject(replacement);
      const after = await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      expect(after.headers['ratelimit-policy']).toBe('"default";q=75;w=2');
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
          meters: [{ meter: 'api_calls', included: 1, enforcement: 'soft', price: flatPrice('x') }],
        })
        .expect(400);
      expect(invalid.body.code).toBe('validation_failed');
      const unknown = await api(e2e.app, asUser(admin))
        .put('/admin/plans/pro')
        .send({
          ...content,
          meters: [{ meter: 'ghost', included: 1, enforcement: 'soft', price: flatPrice(1) }],
        })
        .expect(400);
      expect(unknown.body.code).toBe('unknown_meter');
      const pro = await api(e2e.app, asUser(admin)).get('/admin/plans/pro').expect(200);
      expect(pro.body).toMatchObject({ name: 'Pro', rateLimit: { limit: 100, periodSeconds: 1 } });
    });
  });
});
