import { createPlatformAdmin, createUser, flatPrice, TestUser } from './support/factories';
import { Api, api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

describe('Catalogue: meters and plans', () => {
  const e2e = setupTestContext();
  let admin: TestUser, user: TestUser;

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
        meters: [{ meter: 'api_calls', included, enforcement, price: flatPrice(unitAmount) }],
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
        meters: [
          { meter: 'api_calls', included: 1000, enforcement: 'hard', price: flatPrice('0') },
        ],
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
});
