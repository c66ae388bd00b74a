import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { currentPeriod, periodBounds, shiftPeriod } from '../src/common/period';
import { createPartitionSql, monthPartition } from '../src/metering/usage-partitions';
import { UsageRetentionService } from '../src/metering/usage-retention.service';
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
import { api, asUser } from './support/http';
import { backdateOrg } from './support/periods';
import { setupTestContext } from './support/test-app';
import { fakeDate } from './support/time';

const RETENTION_MONTHS = 3;
/** Five months back: past retention. Three months back: the oldest period kept. */
const OLD = shiftPeriod(currentPeriod(), -5);
const KEPT = shiftPeriod(currentPeriod(), -RETENTION_MONTHS);
const partitionOf = (period: string) => `usage_events_y${period.replace('-', 'm')}`;

describe('usage retention (RETENTION_MONTHS)', () => {
  const e2e = setupTestContext({ env: { RETENTION_MONTHS: String(RETENTION_MONTHS) } });
  let admin: TestUser, owner: TestUser;
  let orgA: string, orgB: string;
  const db = () => e2e.app.get(DataSource);

  async function partitions(): Promise<string[]> {
    const rows: { name: string }[] = await db().query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'usage_events'::regclass ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  }

  async function rawEvents(orgId: string, period: string): Promise<number> {
    const { from, to } = periodBounds(period);
    const [{ n }] = await db().query(
      `SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1 AND time >= $2 AND time < $3`,
      [orgId, from, to],
    );
    return n;
  }

  const summary = async (orgId: string, period: string) =>
    (
      await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/summary?period=${period}`)
        .expect(200)
    ).body;

  /** Sends `count` calls of org `orgId`, dated in the middle of `period`, on the app's clock then. */
  async function usageIn(orgId: string, period: string, count: number): Promise<void> {
    const at = periodBounds(period).from.getTime() + 14 * 86_400_000;
    const { key } = await createApiKey(e2e.app, owner, orgId);
    fakeDate(at);
    try {
      // That month's partition alone (the app's own job would make empty ones around it too).
      await db().query(createPartitionSql(monthPartition(new Date(at))));
      const events = Array.from({ length: count }, () => ({ id: randomUUID(), type: 'calls' }));
      await sendEvents(e2e.app, key, events);
    } finally {
      jest.useRealTimers();
    }
  }

  const finalize = (orgId: string, period: string) =>
    api(e2e.app, asUser(owner)).post(`/orgs/${orgId}/invoices/${period}/finalize`).expect(201);

  beforeAll(async () => {
    admin = await createPlatformAdmin(e2e.app);
    [owner] = await createUsers(e2e.app, 1);
    await createMeter(e2e.app, admin, { slug: 'calls', aggregation: 'count' });
    await createPlan(e2e.app, admin, {
      code: 'metered',
      meters: [{ meter: 'calls', included: 0, enforcement: 'soft', price: flatPrice(1) }],
    });
    orgA = await createOrg(e2e.app, owner, { plan: 'metered' });
    orgB = await createOrg(e2e.app, owner, { plan: 'metered' });
    for (const orgId of [orgA, orgB]) await backdateOrg(e2e.app, orgId, 200);
    await usageIn(orgA, OLD, 4);
    await usageIn(orgB, OLD, 2);
    await usageIn(orgA, KEPT, 3);
  });

  it('keeps a period past retention while one org has no finalized invoice for it', async () => {
    await finalize(orgA, OLD);
    const run = await e2e.app.get(UsageRetentionService).dropExpiredEvents();
    expect(run).toEqual({ dropped: [], kept: [OLD] });
    expect(await partitions()).toContain(partitionOf(OLD));
    expect(await rawEvents(orgA, OLD)).toBe(4);
    expect(await rawEvents(orgB, OLD)).toBe(2);
  });

  it('drops its raw events once every invoice of it is final; totals, invoices and kept periods stay', async () => {
    await finalize(orgB, OLD);
    const before = await summary(orgA, OLD);
    expect(before.data).toEqual([expect.objectContaining({ meter: 'calls', value: 4 })]);

    const run = await e2e.app.get(UsageRetentionService).dropExpiredEvents();
    expect(run).toEqual({ dropped: [OLD], kept: [] });

    const left = await partitions();
    expect(left).not.toContain(partitionOf(OLD));
    expect(left).toEqual(
      expect.arrayContaining([
        partitionOf(KEPT),
        partitionOf(currentPeriod()),
        'usage_events_default',
      ]),
    );
    expect(await rawEvents(orgA, OLD)).toBe(0);
    expect(await rawEvents(orgA, KEPT)).toBe(3);
    // Reports of the dropped period answer from the totals, the invoice from its snapshot.
    expect(await summary(orgA, OLD)).toEqual(before);
    const invoice = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgB}/invoices/${OLD}`)
      .expect(200);
    expect(invoice.body).toMatchObject({ status: 'finalized', total: 2 });
    // The events listing of it is simply empty.
    const { from, to } = periodBounds(OLD);
    const listed = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgA}/events?from=${from.toISOString()}&to=${to.toISOString()}`)
      .expect(200);
    expect(listed.body).toEqual({ data: [], nextCursor: null });

    // A second run finds nothing more to do.
    expect(await e2e.app.get(UsageRetentionService).dropExpiredEvents()).toEqual({
      dropped: [],
      kept: [],
    });
  });

  it('drops a partition once when instances run retention together', async () => {
    const older = shiftPeriod(currentPeriod(), -7);
    await usageIn(orgA, older, 1);
    await finalize(orgA, older);
    const other = await e2e.ctx.startApp({ RETENTION_MONTHS: String(RETENTION_MONTHS) });
    const runs = await Promise.all(
      [e2e.app, other, e2e.app, other].map((app) =>
        app.get(UsageRetentionService).dropExpiredEvents(),
      ),
    );
    expect(runs.flatMap((r) => r.dropped)).toEqual([older]);
    expect(await partitions()).not.toContain(partitionOf(older));
  });

  it('keeps everything when RETENTION_MONTHS is unset', async () => {
    const older = shiftPeriod(currentPeriod(), -9);
    await usageIn(orgA, older, 1);
    await finalize(orgA, older);
    const keepAll = await e2e.ctx.startApp({ RETENTION_MONTHS: undefined });
    expect(await keepAll.get(UsageRetentionService).dropExpiredEvents()).toEqual({
      dropped: [],
      kept: [],
    });
    expect(await partitions()).toContain(partitionOf(older));
  });
});
