import { createApiKey, createOrg, createUsers, TestUser } from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';

describe('Catalogue: meters and plans', () => {
  const e2e = setupTestContext();

  describe("changing an org's plan", () => {
    let owner: TestUser;
    let orgAdmin: TestUser;
    let member: TestUser;
    let outsider: TestUser;
    let orgId: string;

    beforeAll(async () => {
      [owner, orgAdmin, member, outsider] = await createUsers(e2e.app, 4);
      orgId = await createOrg(e2e.app, owner, { admins: [orgAdmin], members: [member] });
    });

    it('lets the owner move the org to another plan, audited, with its keys on the new limit', async () => {
      const { key } = await createApiKey(e2e.app, owner, orgId);
      const before = await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      expect(before.headers['ratelimit-limit']).toBe('10');

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

      // The key's cached credential knew the old plan: the move reached it before the answer.
      const after = await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
      expect(after.headers['ratelimit-policy']).toBe('"default";q=100;w=1');
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
