import { randomUUID } from 'node:crypto';
import { expectError, UUID, withoutRequestId } from './support/assertions';
import {
  addMember,
  createOrg,
  createUser,
  createUsers,
  OrgRole,
  TestUser,
} from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

interface OrgBody {
  id: string;
  name: string;
  plan: string;
  role: OrgRole;
  createdAt: string;
}

describe('orgs and members', () => {
  const e2e = setupTestContext();
  let owner: TestUser, admin: TestUser, member: TestUser, outsider: TestUser, spare: TestUser;

  const listMembers = async (orgId: string): Promise<{ userId: string; role: OrgRole }[]> =>
    (await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/members`).expect(200)).body.data;

  /** A fresh org of `owner` with `admin` as admin and `member` as member. */
  const standardOrg = (name: string) =>
    createOrg(e2e.app, owner, { name, admins: [admin], members: [member] });

  beforeAll(async () => {
    [owner, admin, member, outsider, spare] = await createUsers(e2e.app, 5);
  });

  describe('POST /orgs', () => {
    it('creates an org on the free plan with the creator as owner', async () => {
      const res = await api(e2e.app, asUser(owner))
        .post('/orgs')
        .send({ name: 'Acme Inc.' })
        .expect(201);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'id', 'name', 'plan', 'role']);
      expect(res.body).toMatchObject({ name: 'Acme Inc.', plan: 'free', role: 'owner' });
      expect(res.body.id).toMatch(UUID);
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);

      const members = await listMembers(res.body.id);
      expect(members).toEqual([
        { userId: owner.id, email: owner.email, role: 'owner', createdAt: expect.any(String) },
      ]);
    });

    it('trims the name', async () => {
      const res = await api(e2e.app, asUser(owner))
        .post('/orgs')
        .send({ name: '  \tSpaced Out  ' })
        .expect(201);
      expect(res.body.name).toBe('Spaced Out');
    });

    it('accepts a name of 1 and of 100 characters', async () => {
      for (const name of ['x', 'n'.repeat(100), `  ${'n'.repeat(100)}  `]) {
        const res = await api(e2e.app, asUser(owner)).post('/orgs').send({ name }).expect(201);
        expect(res.body.name).toBe(name.trim());
      }
    });

    it.each([
      ['an empty name', { name: '' }],
      ['a blank name', { name: '   ' }],
      ['a name of 101 characters', { name: 'n'.repeat(101) }],
      ['a missing name', {}],
      ['a number', { name: 42 }],
      ['null', { name: null }],
      ['an unknown field', { name: 'Acme', plan: 'enterprise' }],
    ])('refuses %s with 400 validation_failed', async (_label, body) => {
      const res = await api(e2e.app, asUser(owner)).post('/orgs').send(body);
      expectError(res, 400, 'validation_failed');
      expect(Array.isArray(res.body.message)).toBe(true);
    });

    it('needs a user token', async () => {
      const res = await api(e2e.app).post('/orgs').send({ name: 'Anon' });
      expectError(res, 401, 'invalid_token');
    });
  });

  describe('GET /orgs', () => {
    let lister: TestUser;
    let created: string[];
    let joinedOrgId: string;

    beforeAll(async () => {
      lister = await createUser(e2e.app);
      // An org of someone else that the lister was added to, then the lister's own orgs.
      joinedOrgId = await createOrg(e2e.app, outsider, { name: 'Joined' });
      await addMember(e2e.app, outsider, joinedOrgId, lister, 'member');
      created = [];
      for (let i = 1; i <= 4; i++)
        created.push(await createOrg(e2e.app, lister, { name: `Mine ${i}` }));
      // Noise: orgs the lister does not belong to.
      await createOrg(e2e.app, outsider, { name: 'Not yours' });
      await createOrg(e2e.app, owner, { name: 'Not yours either' });
    });

    it("lists only the caller's orgs, newest first, each with the caller's role", async () => {
      const res = await api(e2e.app, asUser(lister)).get('/orgs').expect(200);
      expect(res.body.nextCursor).toBeNull();
      const orgs: OrgBody[] = res.body.data;
      expect(orgs.map((o) => o.name)).toEqual(['Mine 4', 'Mine 3', 'Mine 2', 'Mine 1', 'Joined']);
      expect(orgs.map((o) => o.id)).toEqual([...created].reverse().concat(joinedOrgId));
      expect(orgs.map((o) => o.role)).toEqual(['owner', 'owner', 'owner', 'owner', 'member']);
      for (const org of orgs) {
        expect(Object.keys(org).sort()).toEqual(['createdAt', 'id', 'name', 'plan', 'role']);
        expect(org.plan).toBe('free');
      }
      const times = orgs.map((o) => Date.parse(o.createdAt));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('answers an empty page for a user without orgs', async () => {
      const res = await api(e2e.app, asUser(spare)).get('/orgs').expect(200);
      expect(res.body).toEqual({ data: [], nextCursor: null });
    });

    it('pages with limit and cursor, each org exactly once', async () => {
      const all = (await api(e2e.app, asUser(lister)).get('/orgs').expect(200)).body
        .data as OrgBody[];
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const query: Record<string, string | number> = { limit: 2 };
        if (cursor) query.cursor = cursor;
        const res = await api(e2e.app, asUser(lister)).get('/orgs').query(query).expect(200);
        sizes.push(res.body.data.length);
        seen.push(...res.body.data.map((o: OrgBody) => o.id));
        cursor = res.body.nextCursor;
        if (cursor !== null) expect(typeof cursor).toBe('string');
      } while (cursor);
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen).toEqual(all.map((o) => o.id));
    });

    it('answers nextCursor null when the last page is exactly full', async () => {
      const first = await api(e2e.app, asUser(lister)).get('/orgs?limit=3').expect(200);
      const second = await api(e2e.app, asUser(lister))
        .get('/orgs')
        .query({ limit: 2, cursor: first.body.nextCursor })
        .expect(200);
      expect(second.body.data).toHaveLength(2);
      expect(second.body.nextCursor).toBeNull();
    });

    it('accepts limit=1 and limit=200', async () => {
      const one = await api(e2e.app, asUser(lister)).get('/orgs?limit=1').expect(200);
      expect(one.body.data).toHaveLength(1);
      expect(one.body.nextCursor).toEqual(expect.any(String));
      const max = await api(e2e.app, asUser(lister)).get('/orgs?limit=200').expect(200);
      expect(max.body.data).toHaveLength(5);
      expect(max.body.nextCursor).toBeNull();
    });

    it('pages 50 at a time by default', async () => {
      const many = await createUser(e2e.app);
      for (let batch = 0; batch < 51; batch += 17) {
        await Promise.all(
          Array.from({ length: 17 }, (_, i) =>
            createOrg(e2e.app, many, { name: `Bulk ${batch + i}` }),
          ),
        );
      }
      const first = await api(e2e.app, asUser(many)).get('/orgs').expect(200);
      expect(first.body.data).toHaveLength(50);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const rest = await api(e2e.app, asUser(many))
        .get('/orgs')
        .query({ cursor: first.body.nextCursor })
        .expect(200);
      expect(rest.body.data).toHaveLength(1);
      expect(rest.body.nextCursor).toBeNull();
      const ids = [...first.body.data, ...rest.body.data].map((o: OrgBody) => o.id);
      expect(new Set(ids).size).toBe(51);
    });

    it.each(['201', '0', '-1', 'abc', '1.5', '1000000'])(
      'refuses limit=%s with 400',
      async (limit) => {
        const res = await api(e2e.app, asUser(lister)).get('/orgs').query({ limit });
        expectError(res, 400, 'validation_failed');
      },
    );

    it.each([
      'garbage',
      Buffer.from('2024-01-01T00:00:00.000Z|not-a-uuid').toString('base64url'),
      Buffer.from(`not-a-date|${randomUUID()}`).toString('base64url'),
      Buffer.from(`2024-01-01T00:00:00.000Z|${randomUUID()}|extra`).toString('base64url'),
      'x'.repeat(201),
    ])('refuses the cursor %j with 400', async (cursor) => {
      const res = await api(e2e.app, asUser(lister)).get('/orgs').query({ cursor });
      expect(res.status).toBe(400);
      expect(['invalid_cursor', 'validation_failed']).toContain(res.body.code);
    });

    it('refuses a structurally bad cursor with code invalid_cursor', async () => {
      const res = await api(e2e.app, asUser(lister)).get('/orgs').query({ cursor: 'garbage' });
      expectError(res, 400, 'invalid_cursor');
    });

    it('refuses unknown query parameters with 400', async () => {
      const res = await api(e2e.app, asUser(lister)).get('/orgs').query({ sort: 'name' });
      expectError(res, 400, 'validation_failed');
    });

    it('needs a user token', async () => {
      expectError(await api(e2e.app).get('/orgs'), 401, 'invalid_token');
    });
  });

  describe('GET /orgs/:orgId', () => {
    let orgId: string;

    beforeAll(async () => {
      orgId = await standardOrg('Visible');
    });

    it('answers 200 to each member, with their own role', async () => {
      for (const [user, role] of [
        [owner, 'owner'],
        [admin, 'admin'],
        [member, 'member'],
      ] as const) {
        const res = await api(e2e.app, asUser(user)).get(`/orgs/${orgId}`).expect(200);
        expect(res.body).toEqual({
          id: orgId,
          name: 'Visible',
          plan: 'free',
          role,
          createdAt: expect.any(String),
        });
      }
    });

    it('answers an outsider 404, exactly as for an org that does not exist', async () => {
      const outsiderRes = await api(e2e.app, asUser(outsider)).get(`/orgs/${orgId}`);
      const randomRes = await api(e2e.app, asUser(outsider)).get(`/orgs/${randomUUID()}`);
      const nonUuidRes = await api(e2e.app, asUser(outsider)).get('/orgs/not-a-uuid');
      expectError(outsiderRes, 404, 'org_not_found');
      expect(randomRes.status).toBe(404);
      expect(nonUuidRes.status).toBe(404);
      expect(withoutRequestId(randomRes)).toEqual(withoutRequestId(outsiderRes));
      expect(withoutRequestId(nonUuidRes)).toEqual(withoutRequestId(outsiderRes));
      expect(outsiderRes.text).not.toContain('Visible');
    });

    it('needs a user token (401 before any 404)', async () => {
      expectError(await api(e2e.app).get(`/orgs/${orgId}`), 401, 'invalid_token');
      expectError(await api(e2e.app).get(`/orgs/${randomUUID()}`), 401, 'invalid_token');
    });
  });

  describe('an outsider', () => {
    let orgId: string;

    beforeAll(async () => {
      orgId = await standardOrg('Private');
    });

    /** Every org route, on `target`, as the outsider. */
    const routes = (target: string) => [
      api(e2e.app, asUser(outsider)).get(`/orgs/${target}`),
      api(e2e.app, asUser(outsider)).get(`/orgs/${target}/members`),
      api(e2e.app, asUser(outsider))
        .post(`/orgs/${target}/members`)
        .send({ email: outsider.email, role: 'owner' }),
      api(e2e.app, asUser(outsider))
        .patch(`/orgs/${target}/members/${member.id}`)
        .send({ role: 'admin' }),
      api(e2e.app, asUser(outsider))
        .patch(`/orgs/${target}/members/${outsider.id}`)
        .send({ role: 'owner' }),
      api(e2e.app, asUser(outsider)).delete(`/orgs/${target}/members/${member.id}`),
      api(e2e.app, asUser(outsider)).delete(`/orgs/${target}/members/${outsider.id}`),
    ];

    it('gets 404 org_not_found on every route of an org they are not in, and changes nothing', async () => {
      const answers = await Promise.all(routes(orgId));
      for (const res of answers) expectError(res, 404, 'org_not_found');
      const members = await listMembers(orgId);
      expect(members.map((m) => [m.userId, m.role]).sort()).toEqual(
        [
          [owner.id, 'owner'],
          [admin.id, 'admin'],
          [member.id, 'member'],
        ].sort(),
      );
    });

    it('gets the same answers as for an org that does not exist', async () => {
      const real = await Promise.all(routes(orgId));
      const missing = await Promise.all(routes(randomUUID()));
      const garbage = await Promise.all(routes('not-a-uuid'));
      const answers = (responses: typeof real) =>
        responses.map((r) => [r.status, withoutRequestId(r)]);
      expect(answers(missing)).toEqual(answers(real));
      expect(answers(garbage)).toEqual(answers(real));
    });

    it('gets 404, not 400, even with an invalid body', async () => {
      const res = await api(e2e.app, asUser(outsider))
        .post(`/orgs/${orgId}/members`)
        .send({ nonsense: true });
      expectError(res, 404, 'org_not_found');
    });
  });
});
