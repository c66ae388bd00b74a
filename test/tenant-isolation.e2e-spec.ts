import { randomBytes } from 'node:crypto';
import { expectError } from './support/assertions';
import {
  createMeter,
  createOrgWithKey,
  createPlan,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { countStoredEvents } from './support/stored-events';
import { setupTestContext } from './support/test-app';

/**
 * What passes validation but Postgres still refuses at write time: a group-by value too large for
 * the rollups' primary key (random text does not compress under btree's ~2.7 KB row limit, though
 * the event's 8 KB of data hold it). It shares a group-commit flush with a neighbour's events.
 */
describe('a write Postgres refuses hurts no other request (§7)', () => {
  const e2e = setupTestContext();
  let owner: TestUser;

  const stored = (orgId: string) => countStoredEvents(e2e.app, orgId);
  const ingest = (key: string, body: object) =>
    api(e2e.app, withKey(key)).post('/v1/events').send(body);

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    await createMeter(e2e.app, admin, {
      slug: 'grouped',
      aggregation: 'sum',
      valueProperty: 'v',
      groupBy: ['region'],
    });
    await createPlan(e2e.app, admin, {
      code: 'grouped_10',
      meters: [{ meter: 'grouped', included: 10, enforcement: 'hard' }],
    });
  });

  it('refuses the request at fault with a 400 and stores nothing of it; the neighbours in its flush get 202', async () => {
    const plan = { plan: 'grouped_10' };
    const { orgId: hostileOrg, key: hostile } = await createOrgWithKey(e2e.app, owner, plan);
    const { orgId: neighbourOrg, key: neighbour } = await createOrgWithKey(e2e.app, owner, plan);
    const region = randomBytes(3000).toString('hex');
    const [refused, ...answers] = await Promise.all([
      ingest(hostile, { id: 'h', type: 'grouped', data: { v: 5, region } }),
      ...Array.from({ length: 10 }, (_, i) =>
        ingest(neighbour, { id: `n${i}`, type: 'grouped', data: { v: 1, region: 'eu' } }),
      ),
    ]);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ statusCode: 400, code: expect.any(String) });
    expect(refused.text).not.toMatch(/INSERT|usage_rollups|index row/i);
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(await stored(hostileOrg)).toBe(0);
    expect(await stored(neighbourOrg)).toBe(10);
    // The neighbour's quota is whole and exactly used: 10 of 10.
    expectError(
      await ingest(neighbour, { id: 'n-more', type: 'grouped', data: { v: 1 } }),
      429,
      'quota_exceeded',
    );
  });

  it('gives back the hard quota the refused request had reserved', async () => {
    const { orgId, key } = await createOrgWithKey(e2e.app, owner, { plan: 'grouped_10' });
    for (let i = 0; i < 3; i++) {
      const region = randomBytes(3000).toString('hex');
      const res = await ingest(key, { id: `h${i}`, type: 'grouped', data: { v: 5, region } });
      expect(res.status).toBe(400);
    }
    // Had 5 units stayed reserved per refusal, 10 more would be over the quota of 10.
    await ingest(key, { id: 'ok', type: 'grouped', data: { v: 10, region: 'eu' } }).expect(202);
    const summary = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/usage/summary`);
    expect(summary.body.data).toEqual([
      expect.objectContaining({ meter: 'grouped', value: 10, remaining: 0 }),
    ]);
  });
});
