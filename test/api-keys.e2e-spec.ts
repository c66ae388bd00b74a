import { ApiKeyUsageTracker } from '../src/api-keys/api-key-usage.tracker';
import { ApiKeysRepository } from '../src/api-keys/api-keys.repository';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUsers,
  TestUser,
} from './support/factories';
import { Api, api, asUser, withKey } from './support/http';
import { hasSharedRedis } from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { eventually, fakeDate } from './support/time';

describe('API keys', () => {
  const e2e = setupTestContext();
  let owner: TestUser, member: TestUser, outsider: TestUser, orgId: string;

  beforeAll(async () => {
    [owner, member, outsider] = await createUsers(e2e.app, 3);
    // Every key of an org shares its plan's rate limit: one roomy enough for the whole file.
    const admin = await createPlatformAdmin(e2e.app);
    await createPlan(e2e.app, admin, { code: 'roomy', meters: [] });
    orgId = await createOrg(e2e.app, owner, { members: [member], plan: 'roomy' });
  });
  afterEach(() => jest.useRealTimers());

  describe('issuing and listing', () => {
    it('creates a key shown once, in the mk_live_ format, with all scopes by default', async () => {
      const created = await createApiKey(e2e.app, owner, orgId, { name: 'backend' });
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
      const created = await createApiKey(e2e.app, owner, orgId, { name: 'listed' });
      const res = await api(e2e.app, asUser(member)).get(`/orgs/${orgId}/api-keys`).expect(200);
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
      await createApiKey(e2e.app, owner, orgId, { name: 'p1' });
      await createApiKey(e2e.app, owner, orgId, { name: 'p2' });
      const first = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/api-keys?limit=1`)
        .expect(200);
      expect(first.body.data).toHaveLength(1);
      const second = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/api-keys?limit=1&cursor=${first.body.nextCursor}`)
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
      const before = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/api-keys?limit=200`);
      const res = await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys`)
        .send({ name: 'x', ...body })
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
      const after = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/api-keys?limit=200`);
      expect(after.body.data).toHaveLength(before.body.data.length);
    });
  });

  describe('authenticating /v1 calls', () => {
    it('accepts the key as Authorization: Bearer and as X-API-Key', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId);
      await api(e2e.app)
        .get('/v1/ping')
        .set('Authorization', `Bearer ${key}`)
        .expect(200, { pong: true });
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200, { pong: true });
    });

    it('refuses a missing key, a user JWT and an unknown key with 401 invalid_api_key', async () => {
      for (const headers of [{}, asUser(owner), { 'X-API-Key': 'mk_live_nope' }]) {
        const res = await api(e2e.app, headers).get('/v1/ping').expect(401);
        expect(res.body).toMatchObject({
          statusCode: 401,
          error: 'Unauthorized',
          code: 'invalid_api_key',
        });
      }
    });

    it('refuses an API key on user routes', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId);
      await api(e2e.app).get('/auth/me').set('Authorization', `Bearer ${key}`).expect(401);
      await api(e2e.app).get(`/orgs/${orgId}`).set('Authorization', `Bearer ${key}`).expect(401);
    });

    it('refuses a key whose checksum fails without reading the database', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId);
      const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
      const lookup = jest.spyOn(e2e.app.get(ApiKeysRepository), 'findCredentialByHash');
      try {
        const res = await api(e2e.app, withKey(typo)).get('/v1/ping').expect(401);
        expect(res.body.code).toBe('invalid_api_key');
        expect(lookup).not.toHaveBeenCalled();
      } finally {
        lookup.mockRestore();
      }
    });

    it('refuses an expired key with 401 key_expired', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId, {
        expiresAt: new Date(Date.now() + 1500),
      });
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      fakeDate(Date.now() + 1700); // the app's clock, 200 ms past the expiry
      const res = await api(e2e.app, withKey(key)).get('/v1/ping').expect(401);
      expect(res.body.code).toBe('key_expired');
    });

    it('records lastUsedAt off the request path', async () => {
      const { id, key } = await createApiKey(e2e.app, owner, orgId);
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      await e2e.app.get(ApiKeyUsageTracker).flush();
      const res = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/api-keys?limit=200`);
      const listed = res.body.data.find((k: { id: string }) => k.id === id);
      expect(new Date(listed.lastUsedAt).getTime()).toBeGreaterThan(Date.now() - 10_000);
    });
  });

  describe('revoking and rotating', () => {
    it('revokes a key on every instance within a second (two instances share one Redis when configured)', async () => {
      const other = await e2e.ctx.startApp();
      const { id, key } = await createApiKey(e2e.app, owner, orgId);
      // Both instances have the key cached.
      await api(other, withKey(key)).get('/v1/ping').expect(200);
      await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);

      await api(e2e.app, asUser(owner)).delete(`/orgs/${orgId}/api-keys/${id}`).expect(204);
      // Without Redis the instances share nothing but Postgres: only the one that revoked is
      // required to know (the embedded mode is single-instance by definition).
      const instances = hasSharedRedis ? [e2e.app, other] : [e2e.app];
      await eventually(
        async () => {
          for (const instance of instances) {
            const res = await api(instance, withKey(key)).get('/v1/ping');
            expect({ status: res.status, code: res.body.code }).toEqual({
              status: 401,
              code: 'key_revoked',
            });
          }
        },
        { timeoutMs: 1000 },
      );
      // Revoking again is a no-op.
      await api(e2e.app, asUser(owner)).delete(`/orgs/${orgId}/api-keys/${id}`).expect(204);
    });

    it('rotates a key: same settings, the old one works until the grace period ends', async () => {
      const old = await createApiKey(e2e.app, owner, orgId, {
        name: 'rotating',
        scopes: ['verify'],
        rateLimit: { limit: 5, periodSeconds: 10 },
      });
      const res = await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys/${old.id}/rotate`)
        .send({ gracePeriodSeconds: 2 })
        .expect(201);
      expect(res.body.key).not.toBe(old.key);
      expect(res.body).toMatchObject({
        name: 'rotating',
        scopes: ['verify'],
        rateLimit: { limit: 5, periodSeconds: 10 },
      });
      await api(e2e.app, withKey(old.key)).get('/v1/ping').expect(200);
      await api(e2e.app, withKey(res.body.key)).get('/v1/ping').expect(200);
      fakeDate(Date.now() + 2200); // the app's clock, past the grace period
      expect((await api(e2e.app, withKey(old.key)).get('/v1/ping').expect(401)).body.code).toBe(
        'key_expired',
      );
      await api(e2e.app, withKey(res.body.key)).get('/v1/ping').expect(200);
    });

    it('rotation without grace ends the old key at once; a revoked key cannot be rotated', async () => {
      const old = await createApiKey(e2e.app, owner, orgId);
      await api(e2e.app, withKey(old.key)).get('/v1/ping').expect(200);
      await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys/${old.id}/rotate`)
        .send({})
        .expect(201);
      expect((await api(e2e.app, withKey(old.key)).get('/v1/ping').expect(401)).body.code).toBe(
        'key_expired',
      );

      const revoked = await createApiKey(e2e.app, owner, orgId);
      await api(e2e.app, asUser(owner)).delete(`/orgs/${orgId}/api-keys/${revoked.id}`).expect(204);
      const res = await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys/${revoked.id}/rotate`)
        .send({})
        .expect(409);
      expect(res.body.code).toBe('key_revoked');
    });

    it('refuses a grace period over 7 days', async () => {
      const old = await createApiKey(e2e.app, owner, orgId);
      await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys/${old.id}/rotate`)
        .send({ gracePeriodSeconds: 7 * 24 * 3600 + 1 })
        .expect(400);
    });
  });

  describe('who may do what', () => {
    /** The routes of the org's keys that only its admins may use, sent by `client`. */
    const adminRoutes = (client: Api, keyId: string) => [
      client.post(`/orgs/${orgId}/api-keys`).send({ name: 'x' }),
      client.delete(`/orgs/${orgId}/api-keys/${keyId}`),
      client.post(`/orgs/${orgId}/api-keys/${keyId}/rotate`).send({}),
      client.get(`/orgs/${orgId}/audit-events`),
    ];

    it('answers 404 to outsiders on every key route', async () => {
      const { id } = await createApiKey(e2e.app, owner, orgId);
      const client = api(e2e.app, asUser(outsider));
      for (const route of [client.get(`/orgs/${orgId}/api-keys`), ...adminRoutes(client, id)]) {
        const res = await route.expect(404);
        expect(res.body.code).toBe('org_not_found');
      }
    });

    it('answers 403 to members on create, revoke, rotate and the audit log', async () => {
      const { id } = await createApiKey(e2e.app, owner, orgId);
      for (const route of adminRoutes(api(e2e.app, asUser(member)), id)) {
        const res = await route.expect(403);
        expect(res.body.code).toBe('insufficient_role');
      }
    });

    it('answers 404 for a key of another org', async () => {
      const otherOrg = await createOrg(e2e.app, outsider, { name: 'Other' });
      const res = await api(e2e.app, asUser(outsider))
        .post(`/orgs/${otherOrg}/api-keys`)
        .send({ name: 'theirs' })
        .expect(201);
      await api(e2e.app, asUser(owner))
        .delete(`/orgs/${orgId}/api-keys/${res.body.id}`)
        .expect(404);
      await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys/${res.body.id}/rotate`)
        .send({})
        .expect(404);
    });
  });

  describe('audit log', () => {
    it('records create, revoke, rotate and member changes, newest first', async () => {
      const key = await createApiKey(e2e.app, owner, orgId, { name: 'audited' });
      await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/api-keys/${key.id}/rotate`)
        .send({ gracePeriodSeconds: 60 })
        .expect(201);
      await api(e2e.app, asUser(owner)).delete(`/orgs/${orgId}/api-keys/${key.id}`).expect(204);
      const res = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/audit-events?limit=3`)
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
      const all = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/audit-events?limit=200`)
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
      const { id, key } = await createApiKey(e2e.app, owner, orgId, {
        rateLimit: { limit: 7, periodSeconds: 60 },
      });
      const ok = await api(e2e.app, withKey(key)).post('/v1/verify').send({}).expect(200);
      expect(ok.body).toMatchObject({
        valid: true,
        code: 'VALID',
        keyId: id,
        orgId,
        ratelimit: { limit: 7 },
      });
      // Unknown, revoked and expired keys learn nothing but the verdict.
      const missing = await api(e2e.app).post('/v1/verify').send({}).expect(200);
      expect(missing.body).toEqual({ valid: false, code: 'NOT_FOUND' });
      await api(e2e.app, asUser(owner)).delete(`/orgs/${orgId}/api-keys/${id}`).expect(204);
      const revoked = await api(e2e.app, withKey(key)).post('/v1/verify').send({}).expect(200);
      expect(revoked.body).toEqual({ valid: false, code: 'REVOKED' });
      expect(revoked.headers['ratelimit-limit']).toBeUndefined();
    });

    it('answers FORBIDDEN for a key without the verify scope', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId, { scopes: ['usage:read'] });
      const res = await api(e2e.app, withKey(key)).post('/v1/verify').send({}).expect(200);
      expect(res.body).toMatchObject({ valid: false, code: 'FORBIDDEN' });
    });
  });
});
