import { expectError } from './support/assertions';
import {
  createApiKey,
  createMeter,
  createOrg,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { describeWithPostgres, setupTestContext } from './support/test-app';
import { withClient } from './support/test-databases';

/** Report statements of this spec's app are cancelled past this. */
const REPORT_TIMEOUT_MS = 100;
/** More slow reports at once than the reports' pool has connections. */
const SLOW_REPORTS = 8;

describeWithPostgres('a report over its time limit', () => {
  const e2e = setupTestContext({ env: { REPORT_TIMEOUT_MS: String(REPORT_TIMEOUT_MS) } });
  let owner: TestUser, orgId: string, key: string;
  /** A unique_count report over January 2020: read from raw events, in the default partition. */
  const slowReport = () =>
    api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/usage`)
      .query({ meter: 'visitors', from: '2020-01-01', to: '2020-02-01', window: 'day' });

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    await createMeter(e2e.app, admin, {
      slug: 'visitors',
      aggregation: 'unique_count',
      valueProperty: 'user',
    });
    owner = await createUser(e2e.app);
    orgId = await createOrg(e2e.app, owner);
    ({ key } = await createApiKey(e2e.app, owner, orgId));
    // Old events (written straight to the table: the API takes 35 days back at most).
    await withClient(e2e.ctx.database.url, (db) =>
      db.query(
        `INSERT INTO usage_events (org_id, event_id, meter, time, data)
         SELECT $1, 'old-' || g, 'visitors', '2020-01-01'::timestamptz + g * interval '1 minute',
                jsonb_build_object('user', 'u' || (g % 97))
           FROM generate_series(1, 5000) AS g`,
        [orgId],
      ),
    );
  });

  it('answers 503 report_timeout with Retry-After, and other requests are unaffected meanwhile', async () => {
    const fast = await slowReport().expect(200);
    expect(
      fast.body.data.reduce((n: number, w: { value: number }) => n + w.value, 0),
    ).toBeGreaterThan(0);

    // What makes the statement slow: the partition it reads is locked, as maintenance on it would
    // (a partition being detached or reindexed). Postgres counts the wait against statement_timeout.
    await withClient(e2e.ctx.database.url, async (db) => {
      await db.query('BEGIN');
      await db.query('LOCK TABLE usage_events_default IN ACCESS EXCLUSIVE MODE');
      try {
        const slow = await Promise.all(Array.from({ length: SLOW_REPORTS }, () => slowReport()));
        for (const res of slow) {
          expectError(res, 503, 'report_timeout');
          expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        }

        // Everything else, while reports keep timing out on the reports' own pool.
        const pending = Array.from({ length: SLOW_REPORTS }, () => slowReport());
        await api(e2e.app).get('/health/ready').expect(200);
        await api(e2e.app)
          .post('/auth/login')
          .send({ email: owner.email, password: owner.password })
          .expect(200);
        await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}`).expect(200);
        await api(e2e.app, withKey(key))
          .post('/v1/events')
          .send({ id: 'now', type: 'visitors', data: { user: 'ann' } })
          .expect(202);
        const summary = await api(e2e.app, asUser(owner))
          .get(`/orgs/${orgId}/usage/summary`)
          .expect(200);
        expect(summary.body.data).toContainEqual(
          expect.objectContaining({ meter: 'visitors', value: 1 }),
        );
        for (const res of await Promise.all(pending)) expectError(res, 503, 'report_timeout');
      } finally {
        await db.query('ROLLBACK');
      }
    });

    // Nothing is left broken: the same report answers again once its statement is fast.
    const again = await slowReport().expect(200);
    expect(again.body).toEqual(fast.body);
  });
});
