import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { ApiKeyUsageTracker } from '../src/api-keys/api-key-usage.tracker';
import { ApiKeysRepository } from '../src/api-keys/api-keys.repository';
import { createOrg, signupUser, TestContext, TestUser } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('API keys', () => {
  let ctx: TestContext;
  let app: NestExpressApplication;
  let owner: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  let orgId: string;

  const http = (target = app) => request(target.getHttpServer());
  const asUser = (user: TestUser) => ({ Authorization: `Bearer ${user.token}` });

  async function createKey(body: Record<string, unknown> = {}, target = app) {
    const res = await http(target)
      .post(`/orgs/${orgId}/api-keys`)
      .set(asUser(owner))
      .send({ name: 'backend', ...body })
      .expect(201);
    return res.body as {
      id: string;
      key: string;
      prefix: string;
      scopes: string[];
      expiresAt: string | null;
    };
  }

  beforeAll(async () => {
    ctx = await TestContext.create();
    app = await ctx.startApp();
    [owner, member, outsider] = await Promise.all([
      signupUser(app),
      signupUser(app),
      signupUser(app),
    ]);
    orgId = await createOrg(app, owner);
    await http()
      .post(`/orgs/${orgId}/members`)
      .set(asUser(owner))
      .send({ email: member.email, role: 'member' })
      .expect(201);
  });
  afterAll(() => ctx.close());

  describe('issuing and listing', () => {
    it('creates a key shown once, in the mk_live_ format, with all scopes by default', async () => {
      const created = await createKey();
      expect(created.key).toMatch(/^mk_live_[0-9A-Za-z]{38}$/);
      expect(created.prefix).toBe(created.key.slice(0, 12));
      expect(created.scopes).toEqual(['events:write', 'usage:read', 'verify']);
      expect(created).toMatchObject({
        name: 'backend',
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        rateLimit: null,
      });
    });

    it('lists keys to members without any secret or hash', async () => {
      const created = await createKey({ name: 'listed' });
      const res = await http().get(`/orgs/${orgId}/api-keys`).set(asUser(member)).expect(200);
      const listed = res.body.data.find((k: { id: string }) => k.id === created.id);
      expect(Object.keys(listed).sort()).toEqual(
        [
          'createdAt',
          'expiresAt',
          'id',
          'lastUsedAt',
          'name',
          'prefix',
          'rateLimit',
          'revokedAt',
          'scopes',
        ].sort(),
      );
      expect(JSON.stringify(res.body)).not.toContain(created.key);
      expect(JSON.stringify(res.body)).not.toMatch(/[0-9a-f]{64}/);
      expect(res.body.nextCursor).toBeNull();
    });

    it('pages the list with limit and cursor', async () => {
      await createKey({ name: 'p1' });
      await createKey({ name: 'p2' });
      const first = await http()
        .get(`/orgs/${orgId}/api-keys?limit=1`)
        .set(asUser(owner))
        .expect(200);
      expect(first.body.data).toHaveLength(1);
      const second = await http()
        .get(`/orgs/${orgId}/api-keys?limit=1&cursor=${first.body.nextCursor}`)
        .set(asUser(owner))
        .expect(200);
      expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
    });

    it.each([
      ['an empty name', { name: '' }],
      ['an unknown scope', { scopes: ['admin'] }],
      ['no scopes at all', { scopes: [] }],
      ['an expiry in the past', { expiresAt: new Date(Date.now() - 1000).toISOString() }],
      ['an expiry that is not a date', { expiresAt: 'tomorrow' }],
      ['a zero rate limit', { rateLimit: { limit: 0, periodSeconds: 1 } }],
      ['an unknown field', { owner: 'me' }],
    ])('refuses %s with 400 and stores nothing', async (_, body) => {
      const before = await http().get(`/orgs/${orgId}/api-keys?limit=200`).set(asUser(owner));
      const res = await http()
        .post(`/orgs/${orgId}/api-keys`)
        .set(asUser(owner))
        .send({ name: 'x', ...body })
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
      const after = await http().get(`/orgs/${orgId}/api-keys?limit=200`).set(asUser(owner));
      expect(after.body.data).toHaveLength(before.body.data.length);
    });
  });

  describe('authenticating /v1 calls', () => {
    it('accepts the key as Authorization: Bearer and as X-API-Key', async () => {
      const { key } = await createKey();
      await http()
        .get('/v1/ping')
        .set('Authorization', `Bearer ${key}`)
        .expect(200, { pong: true });
      await http().get('/v1/ping').set('X-API-Key', key).expect(200, { pong: true });
    });

    it('refuses a missing key, a user JWT and an unknown key with 401 invalid_api_key', async () => {
      for (const headers of [{}, asUser(owner), { 'X-API-Key': 'mk_live_nope' }]) {
        const res = await http().get('/v1/ping').set(headers).expect(401);
        expect(res.body).toMatchObject({
          statusCode: 401,
          error: 'Unauthorized',
          code: 'invalid_api_key',
        });
      }
    });

    it('refuses an API key on user routes', async () => {
      const { key } = await createKey();
      await http().get('/auth/me').set('Authorization', `Bearer ${key}`).expect(401);
      await http().get(`/orgs/${orgId}`).set('Authorization', `Bearer ${key}`).expect(401);
    });

    it('refuses a key whose checksum fails without reading the database', async () => {
      const { key } = await createKey();
      const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
      const lookup = jest.spyOn(app.get(ApiKeysRepository), 'findCredentialByHash');
      try {
        const res = await http().get('/v1/ping').set('X-API-Key', typo).expect(401);
        expect(res.body.code).toBe('invalid_api_key');
        expect(lookup).not.toHaveBeenCalled();
      } finally {
        lookup.mockRestore();
      }
    });

    it('refuses an expired key with 401 key_expired', async () => {
      const { key } = await createKey({ expiresAt: new Date(Date.now() + 1500).toISOString() });
      await http().get('/v1/ping').set('X-API-Key', key).expect(200);
      await sleep(1700);
      const res = await http().get('/v1/ping').set('X-API-Key', key).expect(401);
      expect(res.body.code).toBe('key_expired');
    });

    it('records lastUsedAt off the request path', async () => {
      const { id, key } = await createKey();
      await http().get('/v1/ping').set('X-API-Key', key).expect(200);
      await app.get(ApiKeyUsageTracker).flush();
      const res = await http().get(`/orgs/${orgId}/api-keys?limit=200`).set(asUser(owner));
      const listed = res.body.data.find((k: { id: string }) => k.id === id);
      expect(new Date(listed.lastUsedAt).getTime()).toBeGreaterThan(Date.now() - 10_000);
    });
  });

  describe('revoking and rotating', () => {
    it('revokes a key on every instance within a second (two instances share one Redis when configured)', async () => {
      const other = await ctx.startApp();
      const { id, key } = await createKey();
      // Both instances have the key cached.
      await http(other).get('/v1/ping').set('X-API-Key', key).expect(200);
      await http(app).get('/v1/ping').set('X-API-Key', key).expect(200);

      await http(app).delete(`/orgs/${orgId}/api-keys/${id}`).set(asUser(owner)).expect(204);
      const revokedAt = Date.now();
      // Without Redis the instances share nothing but Postgres: only the one that revoked is
      // required to know (the embedded mode is single-instance by definition).
      const instances = process.env.REDIS_URL ? [app, other] : [app];
      for (const instance of instances) {
        let code: string | undefined;
        while (Date.now() - revokedAt < 1000) {
          const res = await http(instance).get('/v1/ping').set('X-API-Key', key);
          code = res.body.code;
          if (res.status === 401) break;
          await sleep(50);
        }
        expect(code).toBe('key_revoked');
      }
      // Revoking again is a no-op.
      await http(app).delete(`/orgs/${orgId}/api-keys/${id}`).set(asUser(owner)).expect(204);
    });

    it('rotates a key: same settings, the old one works until the grace period ends', async () => {
      const old = await createKey({
        name: 'rotating',
        scopes: ['verify'],
        rateLimit: { limit: 5, periodSeconds: 10 },
      });
      const res = await http()
        .post(`/orgs/${orgId}/api-keys/${old.id}/rotate`)
        .set(asUser(owner))
        .send({ gracePeriodSeconds: 2 })
        .expect(201);
      expect(res.body.key).not.toBe(old.key);
      expect(res.body).toMatchObject({
        name: 'rotating',
        scopes: ['verify'],
        rateLimit: { limit: 5, periodSeconds: 10 },
      });
      await http().get('/v1/ping').set('X-API-Key', old.key).expect(200);
      await http().get('/v1/ping').set('X-API-Key', res.body.key).expect(200);
      await sleep(2200);
      expect((await http().get('/v1/ping').set('X-API-Key', old.key).expect(401)).body.code).toBe(
        'key_expired',
      );
      await http().get('/v1/ping').set('X-API-Key', res.body.key).expect(200);
    });

    it('rotation without grace ends the old key at once; a revoked key cannot be rotated', async () => {
      const old = await createKey();
      await http().get('/v1/ping').set('X-API-Key', old.key).expect(200);
      await http()
        .post(`/orgs/${orgId}/api-keys/${old.id}/rotate`)
        .set(asUser(owner))
        .send({})
        .expect(201);
      expect((await http().get('/v1/ping').set('X-API-Key', old.key).expect(401)).body.code).toBe(
        'key_expired',
      );

      const revoked = await createKey();
      await http().delete(`/orgs/${orgId}/api-keys/${revoked.id}`).set(asUser(owner)).expect(204);
      const res = await http()
        .post(`/orgs/${orgId}/api-keys/${revoked.id}/rotate`)
        .set(asUser(owner))
        .send({})
        .expect(409);
      expect(res.body.code).toBe('key_revoked');
    });

    it('refuses a grace period over 7 days', async () => {
      const old = await createKey();
      await http()
        .post(`/orgs/${orgId}/api-keys/${old.id}/rotate`)
        .set(asUser(owner))
        .send({ gracePeriodSeconds: 7 * 24 * 3600 + 1 })
        .expect(400);
    });
  });

  describe('who may do what', () => {
    it('answers 404 to outsiders on every key route', async () => {
      const { id } = await createKey();
      const routes = [
        http().post(`/orgs/${orgId}/api-keys`).send({ name: 'x' }),
        http().get(`/orgs/${orgId}/api-keys`),
        http().delete(`/orgs/${orgId}/api-keys/${id}`),
        http().post(`/orgs/${orgId}/api-keys/${id}/rotate`).send({}),
        http().get(`/orgs/${orgId}/audit-events`),
      ];
      for (const route of routes) {
        const res = await route.set(asUser(outsider)).expect(404);
        expect(res.body.code).toBe('org_not_found');
      }
    });

    it('answers 403 to members on create, revoke, rotate and the audit log', async () => {
      const { id } = await createKey();
      const routes = [
        http().post(`/orgs/${orgId}/api-keys`).send({ name: 'x' }),
        http().delete(`/orgs/${orgId}/api-keys/${id}`),
        http().post(`/orgs/${orgId}/api-keys/${id}/rotate`).send({}),
        http().get(`/orgs/${orgId}/audit-events`),
      ];
      for (const route of routes) {
        const res = await route.set(asUser(member)).expect(403);
        expect(res.body.code).toBe('insufficient_role');
      }
    });

    it('answers 404 for a key of another org', async () => {
      const otherOrg = await createOrg(app, outsider, 'Other');
      const res = await http()
        .post(`/orgs/${otherOrg}/api-keys`)
        .set(asUser(outsider))
        .send({ name: 'theirs' })
        .expect(201);
      await http().delete(`/orgs/${orgId}/api-keys/${res.body.id}`).set(asUser(owner)).expect(404);
      await http()
        .post(`/orgs/${orgId}/api-keys/${res.body.id}/rotate`)
        .set(asUser(owner))
        .send({})
        .expect(404);
    });
  });

  describe('audit log', () => {
    it('records create, revoke, rotate and member changes, newest first', async () => {
      const key = await createKey({ name: 'audited' });
      await http()
        .post(`/orgs/${orgId}/api-keys/${key.id}/rotate`)
        .set(asUser(owner))
        .send({ gracePeriodSeconds: 60 })
        .expect(201);
      await http().delete(`/orgs/${orgId}/api-keys/${key.id}`).set(asUser(owner)).expect(204);
      const res = await http()
        .get(`/orgs/${orgId}/audit-events?limit=3`)
        .set(asUser(owner))
        .expect(200);
      expect(res.body.data.map((e: { action: string }) => e.action)).toEqual([
        'api_key.revoked',
        'api_key.rotated',
        'api_key.created',
      ]);
      for (const event of res.body.data) {
        expect(event).toMatchObject({
          actorUserId: owner.id,
          targetType: 'api_key',
          targetId: key.id,
        });
        expect(Object.keys(event).sort()).toEqual([
          'action',
          'actorUserId',
          'at',
          'id',
          'meta',
          'targetId',
          'targetType',
        ]);
      }
      expect(JSON.stringify(res.body)).not.toContain(key.key);
      const all = await http()
        .get(`/orgs/${orgId}/audit-events?limit=200`)
        .set(asUser(owner))
        .expect(200);
      expect(
        all.body.data.some(
          (e: { action: string; targetId: string }) =>
            e.action === 'member.added' && e.targetId === member.id,
        ),
      ).toBe(true);
    });
  });

  describe('POST /v1/verify', () => {
    it('answers 200 with the verdict for good and bad keys', async () => {
      const { id, key } = await createKey({ rateLimit: { limit: 7, periodSeconds: 60 } });
      const ok = await http().post('/v1/verify').set('X-API-Key', key).send({}).expect(200);
      expect(ok.body).toMatchObject({
        valid: true,
        code: 'VALID',
        keyId: id,
        orgId,
        ratelimit: { limit: 7 },
      });
      const missing = await http().post('/v1/verify').send({}).expect(200);
      expect(missing.body).toMatchObject({ valid: false, code: 'NOT_FOUND', keyId: null });
      await http().delete(`/orgs/${orgId}/api-keys/${id}`).set(asUser(owner)).expect(204);
      const revoked = await http().post('/v1/verify').set('X-API-Key', key).send({}).expect(200);
      expect(revoked.body).toMatchObject({ valid: false, code: 'REVOKED', keyId: id });
    });

    it('answers FORBIDDEN for a key without the verify scope', async () => {
      const { key } = await createKey({ scopes: ['usage:read'] });
      const res = await http().post('/v1/verify').set('X-API-Key', key).send({}).expect(200);
      expect(res.body).toMatchObject({ valid: false, code: 'FORBIDDEN' });
    });
  });
});
