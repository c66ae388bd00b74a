import { randomUUID } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { currentPeriod, periodBounds } from '../src/common/period';
import { UniqueCountValues1764800000000 } from '../src/database/migrations/1764800000000-UniqueCountValues';
import {
  createApiKey,
  createMeter,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUsers,
  flatPrice,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';

/**
 * unique_count meters are counted as events arrive (the distinct values of each org, meter and
 * period are kept by ingestion), not from raw events at read time: the summary and invoices read
 * that count, and it must equal what Postgres counts over the raw events.
 */
describe('unique_count kept at ingestion', () => {
  const e2e = setupTestContext();
  let admin: TestUser, owner: TestUser;
  /** Two instances over one database: their flushes race in separate transactions. */
  let instances: NestExpressApplication[];
  const db = () => e2e.app.get(DataSource);

  const event = (type: string, data: Record<string, unknown>, id: string = randomUUID()) => ({
    id,
    type,
    data,
  });

  async function summaryValues(orgId: string): Promise<Record<string, number>> {
    const res = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/usage/summary`).expect(200);
    return Object.fromEntries(
      res.body.data.map((line: { meter: string; value: number }) => [line.meter, line.value]),
    );
  }

  /** What Postgres counts straight from the org's raw events of this period. */
  async function distinctInEvents(orgId: string, meter: string, property: string) {
    const { from, to } = periodBounds(currentPeriod());
    const [{ n }] = await db().query(
      `SELECT count(DISTINCT data ->> $3)::int AS n FROM usage_events
        WHERE org_id = $1 AND meter = $2 AND time >= $4 AND time < $5`,
      [orgId, meter, property, from, to],
    );
    return n;
  }

  async function newOrg(): Promise<{ orgId: string; key: string }> {
    const orgId = await createOrg(e2e.app, owner, { plan: 'uniques' });
    return { orgId, key: (await createApiKey(e2e.app, owner, orgId)).key };
  }

  beforeAll(async () => {
    instances = [e2e.app, await e2e.ctx.startApp()];
    admin = await createPlatformAdmin(e2e.app);
    [owner] = await createUsers(e2e.app, 1);
    await createMeter(e2e.app, admin, {
      slug: 'visitors',
      aggregation: 'unique_count',
      valueProperty: 'user',
    });
    await createMeter(e2e.app, admin, {
      slug: 'devices',
      aggregation: 'unique_count',
      valueProperty: 'device',
    });
    await createPlan(e2e.app, admin, {
      code: 'uniques',
      meters: [{ meter: 'visitors', included: 1, enforcement: 'soft', price: flatPrice(10) }],
    });
  });

  it('counts a value once, however often it comes back, and a repeated id not at all', async () => {
    const { orgId, key } = await newOrg();
    const first = await sendEvents(e2e.app, key, [
      event('visitors', { user: 'u1' }, 'e1'),
      event('visitors', { user: 'u2' }),
      event('visitors', { user: 'u1' }),
      // A repeated id with another value is a duplicate: its value is not counted.
      event('visitors', { user: 'u9' }, 'e1'),
      // A number and the same digits as a string are one value (as `data ->> property` reads them).
      event('visitors', { user: 7 }),
      event('visitors', { user: '7' }),
    ]);
    expect(first).toEqual({ accepted: 5, duplicates: 1 });
    expect((await summaryValues(orgId)).visitors).toBe(3);

    await sendEvents(e2e.app, key, [
      event('visitors', { user: 'u2' }),
      event('visitors', { user: 'u3' }),
      event('visitors', { user: 'u9' }, 'e1'),
    ]);
    expect((await summaryValues(orgId)).visitors).toBe(4);
    expect(await distinctInEvents(orgId, 'visitors', 'user')).toBe(4);
  });

  it('counts each meter and each org apart, even for the same value', async () => {
    const a = await newOrg();
    const b = await newOrg();
    await sendEvents(e2e.app, a.key, [
      event('visitors', { user: 'same' }),
      event('devices', { device: 'same' }),
      event('devices', { device: 'other' }),
    ]);
    await sendEvents(e2e.app, b.key, [event('visitors', { user: 'same' })]);
    expect(await summaryValues(a.orgId)).toEqual({ visitors: 1, devices: 2 });
    expect(await summaryValues(b.orgId)).toEqual({ visitors: 1 });
  });

  it('counts each value once when batches with the same values race on two instances', async () => {
    const { orgId, key } = await newOrg();
    const values = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    // Each batch holds the values in another order, so that concurrent writers meet every one.
    const batches = Array.from({ length: 12 }, (_, b) =>
      values.map((_, i) => event('visitors', { user: values[(i * 7 + b * 13) % values.length] })),
    );
    const answers = await Promise.all(
      batches.map((events, i) =>
        api(instances[i % instances.length], withKey(key))
          .post('/v1/events')
          .send({ events }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(batches.map(() => 202));
    expect((await summaryValues(orgId)).visitors).toBe(values.length);
    expect(await distinctInEvents(orgId, 'visitors', 'user')).toBe(values.length);
  });

  it('bills the distinct count of the period', async () => {
    const { orgId, key } = await newOrg();
    await sendEvents(
      e2e.app,
      key,
      ['a', 'b', 'c', 'a', 'b'].map((user) => event('visitors', { user })),
    );
    const res = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/invoices/preview`)
      .expect(200);
    expect(res.body.lines).toEqual([
      expect.objectContaining({ meter: 'visitors', quantity: 3, billable: 2, amount: 20 }),
    ]);
  });

  it('keeps the count once the raw events are gone, as retention leaves the totals', async () => {
    const { orgId, key } = await newOrg();
    await sendEvents(e2e.app, key, [
      event('visitors', { user: 'p' }),
      event('visitors', { user: 'q' }),
    ]);
    // What retention's partition drop does to this org's raw events.
    await db().query(`DELETE FROM usage_events WHERE org_id = $1`, [orgId]);
    expect((await summaryValues(orgId)).visitors).toBe(2);
  });

  it("the migration's backfill counts the stored events as ingestion did", async () => {
    const { orgId, key } = await newOrg();
    await sendEvents(e2e.app, key, [
      event('visitors', { user: 'x' }),
      event('visitors', { user: 'y' }),
      event('visitors', { user: 'x' }),
      event('devices', { device: 'x' }),
    ]);
    const before = await summaryValues(orgId);
    expect(before).toEqual({ visitors: 2, devices: 1 });

    // Undo and redo the migration: the counts are rebuilt from the raw events alone.
    const migration = new UniqueCountValues1764800000000();
    const runner = db().createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await migration.down(runner);
      await migration.up(runner);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect(await summaryValues(orgId)).toEqual(before);
  });
});
