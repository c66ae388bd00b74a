import { randomUUID } from 'node:crypto';
import { expectError, UUID } from './support/assertions';
import { addMember, createOrg, createUser, OrgRole, TestUser } from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

interface OrgBody {
  id: string;
  name: string;
  plan: string;
  role: OrgRole;
  createdAt: string;
}

interface MemberBody {
  userId: string;
  email: string;
  role: OrgRole;
  createdAt: string;
}

describe('orgs and members', () => {
  const e2e = setupTestContext();
  let owner: TestUser;
  let admin: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  let spare: TestUser;

  // The member routes under test, as `actor`; each test states the status it expects.
  const postMember = (orgId: string, actor: TestUser, email: string, role: OrgRole) =>
    api(e2e.app, asUser(actor)).post(`/orgs/${orgId}/members`).send({ email, role });
  const patchMember = (orgId: string, actor: TestUser, userId: string, role: OrgRole) =>
    api(e2e.app, asUser(actor)).patch(`/orgs/${orgId}/members/${userId}`).send({ role });
  const removeMember = (orgId: string, actor: TestUser, userId: string) =>
    api(e2e.app, asUser(actor)).delete(`/orgs/${orgId}/members/${userId}`);
  const listMembers = async (orgId: string, actor = owner): Promise<MemberBody[]> =>
    (await api(e2e.app, asUser(actor)).get(`/orgs/${orgId}/members`).expect(200)).body.data;
  const roleOf = async (orgId: string, user: TestUser) =>
    (await listMembers(orgId)).find((m) => m.userId === user.id)?.role;

  /** A fresh org of `owner` with `admin` as admin and `member` as member. */
  async function standardOrg(name = 'Acme'): Promise<string> {
    const orgId = await createOrg(e2e.app, owner, { name });
    await addMember(e2e.app, owner, orgId, admin, 'admin');
    await addMember(e2e.app, owner, orgId, member, 'member');
    return orgId;
  }

  beforeAll(async () => {
    [owner, admin, member, outsider, spare] = await Promise.all([
      createUser(e2e.app),
      createUser(e2e.app),
      createUser(e2e.app),
      createUser(e2e.app),
      createUser(e2e.app),
    ]);
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
      expect(randomRes.body).toEqual(outsiderRes.body);
      expect(nonUuidRes.body).toEqual(outsiderRes.body);
      expect(outsiderRes.text).not.toContain('Visible');
    });

    it('needs a user token (401 before any 404)', async () => {
      expectError(await api(e2e.app).get(`/orgs/${orgId}`), 401, 'invalid_token');
      expectError(await api(e2e.app).get(`/orgs/${randomUUID()}`), 401, 'invalid_token');
    });
  });

  describe('GET /orgs/:orgId/members', () => {
    let orgId: string;

    beforeAll(async () => {
      orgId = await standardOrg('Listed');
    });

    it('lists {userId, email, role, createdAt} of every member to any member', async () => {
      for (const viewer of [owner, admin, member]) {
        const res = await api(e2e.app, asUser(viewer)).get(`/orgs/${orgId}/members`).expect(200);
        expect(res.body.nextCursor).toBeNull();
        const members: MemberBody[] = res.body.data;
        for (const m of members) {
          expect(Object.keys(m).sort()).toEqual(['createdAt', 'email', 'role', 'userId']);
        }
        const byUser = Object.fromEntries(members.map((m) => [m.userId, m]));
        expect(Object.keys(byUser).sort()).toEqual([owner.id, admin.id, member.id].sort());
        expect(byUser[owner.id]).toMatchObject({ email: owner.email, role: 'owner' });
        expect(byUser[admin.id]).toMatchObject({ email: admin.email, role: 'admin' });
        expect(byUser[member.id]).toMatchObject({ email: member.email, role: 'member' });
      }
    });

    it('pages members with limit and cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: Record<string, string | number> = { limit: 1 };
        if (cursor) query.cursor = cursor;
        const res = await api(e2e.app, asUser(member))
          .get(`/orgs/${orgId}/members`)
          .query(query)
          .expect(200);
        expect(res.body.data).toHaveLength(1);
        seen.push(res.body.data[0].userId);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual([owner.id, admin.id, member.id].sort());
    });

    it('refuses limit=201 and a bad cursor with 400', async () => {
      const tooMany = await api(e2e.app, asUser(member)).get(`/orgs/${orgId}/members?limit=201`);
      expectError(tooMany, 400, 'validation_failed');
      const bad = await api(e2e.app, asUser(member)).get(`/orgs/${orgId}/members?cursor=nope`);
      expectError(bad, 400, 'invalid_cursor');
    });
  });

  describe('POST /orgs/:orgId/members', () => {
    it('adds a user by email (201), and changes the role of a member already there (200)', async () => {
      const orgId = await createOrg(e2e.app, owner);
      const added = await postMember(orgId, owner, spare.email, 'member').expect(201);
      expect(added.body).toEqual({
        userId: spare.id,
        email: spare.email,
        role: 'member',
        createdAt: expect.any(String),
      });
      const changed = await postMember(orgId, owner, spare.email, 'admin').expect(200);
      expect(changed.body).toMatchObject({ userId: spare.id, role: 'admin' });
      expect(changed.body.createdAt).toBe(added.body.createdAt);
      expect(await roleOf(orgId, spare)).toBe('admin');
      // The same role again is still "already a member": 200, nothing changes.
      await postMember(orgId, owner, spare.email, 'admin').expect(200);
      expect(await listMembers(orgId)).toHaveLength(2);
    });

    it('finds the user by email in any letter case, with surrounding spaces', async () => {
      const orgId = await createOrg(e2e.app, owner);
      const res = await postMember(orgId, owner, `  ${spare.email.toUpperCase()} `, 'member');
      expect(res.status).toBe(201);
      expect(res.body.userId).toBe(spare.id);
    });

    it('gives the new member access to the org', async () => {
      const orgId = await createOrg(e2e.app, owner, { name: 'Welcome' });
      await api(e2e.app, asUser(spare)).get(`/orgs/${orgId}`).expect(404);
      await postMember(orgId, owner, spare.email, 'member').expect(201);
      const res = await api(e2e.app, asUser(spare)).get(`/orgs/${orgId}`).expect(200);
      expect(res.body.role).toBe('member');
      const list = await api(e2e.app, asUser(spare)).get('/orgs').expect(200);
      expect(list.body.data.map((o: OrgBody) => o.id)).toContain(orgId);
    });

    it('answers an unknown email with 404 user_not_found', async () => {
      const orgId = await createOrg(e2e.app, owner);
      const res = await postMember(orgId, owner, 'nobody-here@example.test', 'member');
      expectError(res, 404, 'user_not_found');
    });

    it.each([
      ['a bad role', { email: 'x@example.test', role: 'superuser' }],
      ['a missing role', { email: 'x@example.test' }],
      ['a bad email', { email: 'not-an-email', role: 'member' }],
      ['an unknown field', { email: 'x@example.test', role: 'member', note: 'hi' }],
    ])('refuses %s with 400 validation_failed', async (_label, body) => {
      const orgId = await createOrg(e2e.app, owner);
      const res = await api(e2e.app, asUser(owner)).post(`/orgs/${orgId}/members`).send(body);
      expectError(res, 400, 'validation_failed');
    });

    it('refuses a member with 403 insufficient_role, and adds no one', async () => {
      const orgId = await standardOrg();
      const res = await postMember(orgId, member, spare.email, 'member');
      expectError(res, 403, 'insufficient_role');
      expect(await roleOf(orgId, spare)).toBeUndefined();
    });

    it('lets an admin add members and admins', async () => {
      const orgId = await standardOrg();
      await postMember(orgId, admin, spare.email, 'member').expect(201);
      await postMember(orgId, admin, spare.email, 'admin').expect(200);
      expect(await roleOf(orgId, spare)).toBe('admin');
    });

    it('refuses an admin granting owner with 403 owner_required, and changes nothing', async () => {
      const orgId = await standardOrg();
      expectError(await postMember(orgId, admin, spare.email, 'owner'), 403, 'owner_required');
      expect(await roleOf(orgId, spare)).toBeUndefined();
      expectError(await postMember(orgId, admin, member.email, 'owner'), 403, 'owner_required');
      expect(await roleOf(orgId, member)).toBe('member');
      expectError(await postMember(orgId, admin, admin.email, 'owner'), 403, 'owner_required');
      expect(await roleOf(orgId, admin)).toBe('admin');
    });

    it('refuses an admin demoting an owner through add with 403 owner_required', async () => {
      const orgId = await standardOrg();
      expectError(await postMember(orgId, admin, owner.email, 'member'), 403, 'owner_required');
      expect(await roleOf(orgId, owner)).toBe('owner');
    });

    it('lets an owner add another owner', async () => {
      const orgId = await createOrg(e2e.app, owner);
      const res = await postMember(orgId, owner, spare.email, 'owner').expect(201);
      expect(res.body.role).toBe('owner');
    });

    it('refuses the last owner demoting themself through add with 409 last_owner', async () => {
      const orgId = await standardOrg();
      expectError(await postMember(orgId, owner, owner.email, 'admin'), 409, 'last_owner');
      expect(await roleOf(orgId, owner)).toBe('owner');
    });
  });

  describe('PATCH /orgs/:orgId/members/:userId', () => {
    it('lets an admin promote a member to admin and demote an admin to member', async () => {
      const orgId = await standardOrg();
      const promoted = await patchMember(orgId, admin, member.id, 'admin').expect(200);
      expect(promoted.body).toEqual({
        userId: member.id,
        email: member.email,
        role: 'admin',
        createdAt: expect.any(String),
      });
      await patchMember(orgId, admin, member.id, 'member').expect(200);
      expect(await roleOf(orgId, member)).toBe('member');
    });

    it('refuses a member with 403 insufficient_role', async () => {
      const orgId = await standardOrg();
      expectError(await patchMember(orgId, member, member.id, 'admin'), 403, 'insufficient_role');
      expectError(await patchMember(orgId, member, admin.id, 'member'), 403, 'insufficient_role');
      expect(await roleOf(orgId, member)).toBe('member');
    });

    it('refuses an admin granting owner, or demoting an owner, with 403 owner_required', async () => {
      const orgId = await standardOrg();
      expectError(await patchMember(orgId, admin, member.id, 'owner'), 403, 'owner_required');
      expectError(await patchMember(orgId, admin, admin.id, 'owner'), 403, 'owner_required');
      expectError(await patchMember(orgId, admin, owner.id, 'admin'), 403, 'owner_required');
      expectError(await patchMember(orgId, admin, owner.id, 'member'), 403, 'owner_required');
      const roles = Object.fromEntries((await listMembers(orgId)).map((m) => [m.userId, m.role]));
      expect(roles).toEqual({ [owner.id]: 'owner', [admin.id]: 'admin', [member.id]: 'member' });
    });

    it('lets an owner grant owner; the new owner may then demote the first', async () => {
      const orgId = await standardOrg();
      const res = await patchMember(orgId, owner, admin.id, 'owner').expect(200);
      expect(res.body.role).toBe('owner');
      const view = await api(e2e.app, asUser(admin)).get(`/orgs/${orgId}`).expect(200);
      expect(view.body.role).toBe('owner');
      await patchMember(orgId, admin, owner.id, 'member').expect(200);
      expect(await roleOf(orgId, owner)).toBe('member');
    });

    it('refuses demoting the last owner with 409 last_owner', async () => {
      const orgId = await standardOrg();
      for (const role of ['admin', 'member'] as const) {
        expectError(await patchMember(orgId, owner, owner.id, role), 409, 'last_owner');
      }
      expect(await roleOf(orgId, owner)).toBe('owner');
    });

    it('lets one of two owners step down, but not the second', async () => {
      const orgId = await standardOrg();
      await patchMember(orgId, owner, admin.id, 'owner').expect(200);
      await patchMember(orgId, owner, owner.id, 'admin').expect(200);
      expectError(await patchMember(orgId, admin, admin.id, 'admin'), 409, 'last_owner');
    });

    it('never lets two owners demoting each other at once leave the org without an owner', async () => {
      const orgId = await standardOrg();
      await patchMember(orgId, owner, admin.id, 'owner').expect(200);
      const results = await Promise.all([
        patchMember(orgId, owner, admin.id, 'member'),
        patchMember(orgId, admin, owner.id, 'member'),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.every((s) => s === 200 || s === 403 || s === 409)).toBe(true);
      const owners = (await listMembers(orgId, member)).filter((m) => m.role === 'owner');
      expect(owners).toHaveLength(1);
    });

    it('answers 404 for a user who is not a member, and for an id that is not a UUID', async () => {
      const orgId = await standardOrg();
      expectError(await patchMember(orgId, owner, randomUUID(), 'member'), 404, 'member_not_found');
      expectError(await patchMember(orgId, owner, outsider.id, 'member'), 404, 'member_not_found');
      const nonUuid = await patchMember(orgId, owner, 'not-a-uuid', 'member');
      expect(nonUuid.status).toBe(404);
      expect(await roleOf(orgId, outsider)).toBeUndefined();
    });

    it('refuses a bad body with 400 validation_failed', async () => {
      const orgId = await standardOrg();
      for (const body of [{}, { role: 'root' }, { role: 'admin', email: member.email }]) {
        const res = await api(e2e.app, asUser(owner))
          .patch(`/orgs/${orgId}/members/${member.id}`)
          .send(body);
        expectError(res, 400, 'validation_failed');
      }
    });
  });

  describe('DELETE /orgs/:orgId/members/:userId', () => {
    it('lets a member remove themself (204), after which the org is gone for them', async () => {
      const orgId = await standardOrg();
      await removeMember(orgId, member, member.id).expect(204);
      expect(await roleOf(orgId, member)).toBeUndefined();
      expectError(await api(e2e.app, asUser(member)).get(`/orgs/${orgId}`), 404, 'org_not_found');
      const list = await api(e2e.app, asUser(member)).get('/orgs').expect(200);
      expect(list.body.data.map((o: OrgBody) => o.id)).not.toContain(orgId);
    });

    it('lets an admin remove a member (204) and another admin', async () => {
      const orgId = await standardOrg();
      const res = await removeMember(orgId, admin, member.id).expect(204);
      expect(res.text).toBe('');
      expect(await roleOf(orgId, member)).toBeUndefined();
      await postMember(orgId, owner, spare.email, 'admin').expect(201);
      await removeMember(orgId, admin, spare.id).expect(204);
      expect((await listMembers(orgId)).map((m) => m.userId).sort()).toEqual(
        [owner.id, admin.id].sort(),
      );
    });

    it('lets a removed user be added again', async () => {
      const orgId = await standardOrg();
      await removeMember(orgId, owner, member.id).expect(204);
      await postMember(orgId, owner, member.email, 'member').expect(201);
    });

    it('refuses a member removing someone else with 403 insufficient_role', async () => {
      const orgId = await standardOrg();
      expectError(await removeMember(orgId, member, admin.id), 403, 'insufficient_role');
      expectError(await removeMember(orgId, member, owner.id), 403, 'insufficient_role');
      expect((await listMembers(orgId)).length).toBe(3);
    });

    it('refuses an admin removing an owner with 403 owner_required', async () => {
      const orgId = await standardOrg();
      await postMember(orgId, owner, spare.email, 'owner').expect(201);
      expectError(await removeMember(orgId, admin, owner.id), 403, 'owner_required');
      expectError(await removeMember(orgId, admin, spare.id), 403, 'owner_required');
      expect(await roleOf(orgId, owner)).toBe('owner');
      expect(await roleOf(orgId, spare)).toBe('owner');
    });

    it('lets an owner remove another owner', async () => {
      const orgId = await standardOrg();
      await postMember(orgId, owner, spare.email, 'owner').expect(201);
      await removeMember(orgId, owner, spare.id).expect(204);
      expect(await roleOf(orgId, spare)).toBeUndefined();
    });

    it('refuses removing the last owner, even by themself, with 409 last_owner', async () => {
      const orgId = await standardOrg();
      expectError(await removeMember(orgId, owner, owner.id), 409, 'last_owner');
      expect(await roleOf(orgId, owner)).toBe('owner');
    });

    it('lets an owner leave while another owner remains', async () => {
      const orgId = await standardOrg();
      await patchMember(orgId, owner, admin.id, 'owner').expect(200);
      await removeMember(orgId, owner, owner.id).expect(204);
      expectError(await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}`), 404, 'org_not_found');
      expectError(await removeMember(orgId, admin, admin.id), 409, 'last_owner');
    });

    it('answers 404 for a user who is not a member, and for an id that is not a UUID', async () => {
      const orgId = await standardOrg();
      expectError(await removeMember(orgId, owner, randomUUID()), 404, 'member_not_found');
      expectError(await removeMember(orgId, owner, outsider.id), 404, 'member_not_found');
      expect((await removeMember(orgId, owner, 'not-a-uuid')).status).toBe(404);
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
      expect(missing.map((r) => [r.status, r.body])).toEqual(real.map((r) => [r.status, r.body]));
      expect(garbage.map((r) => [r.status, r.body])).toEqual(real.map((r) => [r.status, r.body]));
    });

    it('gets 404, not 400, even with an invalid body', async () => {
      const res = await api(e2e.app, asUser(outsider))
        .post(`/orgs/${orgId}/members`)
        .send({ nonsense: true });
      expectError(res, 404, 'org_not_found');
    });
  });
});
