import { randomUUID } from 'node:crypto';
import { expectError } from './support/assertions';
import { createOrg, createUsers, OrgRole, TestUser } from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

interface MemberBody {
  userId: string;
  email: string;
  role: OrgRole;
  createdAt: string;
}

describe('orgs and members', () => {
  const e2e = setupTestContext();
  let owner: TestUser, admin: TestUser, member: TestUser, outsider: TestUser, spare: TestUser;

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
  const standardOrg = (name = 'Acme') =>
    createOrg(e2e.app, owner, { name, admins: [admin], members: [member] });

  beforeAll(async () => {
    [owner, admin, member, outsider, spare] = await createUsers(e2e.app, 5);
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
      expect(list.body.data.map((o: { id: string }) => o.id)).toContain(orgId);
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
      expect(list.body.data.map((o: { id: string }) => o.id)).not.toContain(orgId);
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
});
