import { NestExpressApplication } from '@nestjs/platform-express';
import { expectError } from './support/assertions';
import {
  createApiKey,
  createOrg,
  createUser,
  PASSWORD,
  TestUser,
  uniqueEmail,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/** Concurrent clients that conflict get one success and idempotent successes or 4xx, never a 500 (§1). */
describe('races between clients (§1)', () => {
  const e2e = setupTestContext();
  let owner: TestUser;
  /** Two instances over one database: requests alternate between them. */
  let instances: NestExpressApplication[];

  const on = (i: number) => instances[i % instances.length];
  const auditActions = async (orgId: string) => {
    const res = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/audit-events?limit=200`)
      .expect(200);
    return res.body.data.map((e: { action: string }) => e.action) as string[];
  };

  beforeAll(async () => {
    instances = [e2e.app, await e2e.ctx.startApp()];
    owner = await createUser(e2e.app);
  });

  it('six concurrent adds of one user to an org: exactly one 201, the others 200, one membership', async () => {
    for (let round = 0; round < 3; round++) {
      const orgId = await createOrg(e2e.app, owner);
      const user = await createUser(e2e.app);
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          api(on(i), asUser(owner))
            .post(`/orgs/${orgId}/members`)
            .send({ email: user.email, role: 'member' }),
        ),
      );
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 200, 201]);
      for (const res of answers)
        expect(res.body).toEqual({
          userId: user.id,
          email: user.email,
          role: 'member',
          createdAt: expect.any(String),
        });
      const members = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/members`).expect(200);
      expect(
        members.body.data.filter((m: { userId: string }) => m.userId === user.id),
      ).toHaveLength(1);
      expect((await auditActions(orgId)).filter((a) => a === 'member.added')).toHaveLength(1);
    }
  });

  it('concurrent adds asking for different roles: one 201, the rest 200, and one of the roles wins', async () => {
    const orgId = await createOrg(e2e.app, owner);
    const user = await createUser(e2e.app);
    const roles = ['member', 'admin', 'member', 'admin', 'member', 'admin'];
    const answers = await Promise.all(
      roles.map((role, i) =>
        api(on(i), asUser(owner)).post(`/orgs/${orgId}/members`).send({ email: user.email, role }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const members = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/members`).expect(200);
    const mine = members.body.data.filter((m: { userId: string }) => m.userId === user.id);
    expect(mine).toHaveLength(1);
    expect(['member', 'admin']).toContain(mine[0].role);
  });

  it('concurrent sign-ups of one email (in several spellings): one 201, the rest 409 email_taken', async () => {
    for (let round = 0; round < 2; round++) {
      const email = uniqueEmail('race');
      const spellings = [email, email.toUpperCase(), ` ${email}`, email, `${email} `, email];
      const answers = await Promise.all(
        spellings.map((spelling, i) =>
          api(on(i)).post('/auth/signup').send({ email: spelling, password: PASSWORD }),
        ),
      );
      const created = answers.filter((r) => r.status === 201);
      expect(created).toHaveLength(1);
      expect(created[0].body.email).toBe(email);
      const refused = answers.filter((r) => r.status !== 201);
      expect(refused).toHaveLength(5);
      for (const res of refused) expectError(res, 409, 'email_taken');
      await api(e2e.app).post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    }
  });

  it('concurrent revokes of one key: all 204, one audit entry, and the key stops working', async () => {
    const orgId = await createOrg(e2e.app, owner);
    const { id, key } = await createApiKey(e2e.app, owner, orgId);
    await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api(on(i), asUser(owner)).delete(`/orgs/${orgId}/api-keys/${id}`),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(204));
    expect((await auditActions(orgId)).filter((a) => a === 'api_key.revoked')).toHaveLength(1);
    for (const app of instances) {
      // Within the second the contract allows another instance (§5).
      await eventually(
        async () => expectError(await api(app, withKey(key)).get('/v1/ping'), 401, 'key_revoked'),
        { timeoutMs: 1500 },
      );
    }
  });
});
