import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { currentPeriod } from '../src/common/period';
import { expectError } from './support/assertions';
import {
  createApiKey,
  createMeter,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
  createUsers,
  flatPrice,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { backdateOrg, inPreviousPeriod, previousPeriod } from './support/periods';
import { setupTestContext } from './support/test-app';

/**
 * A plan with one meter per price model, and the usage below; every amount worked by hand:
 *   m_flat  (count) flat 0.5, 10 included, 25 events: billable 15 × 0.5 = 7.5 → 8 (half-up)
 *   m_grad  (sum)   graduated, 1500: 100 × 1 + (900 × 0.5 + 20) + (500 × 0.25 + 50) = 745
 *   m_vol   (sum)   volume, 50 included, 250: billable 200 in tier 2: 200 × 1 + 10 = 210
 *   m_pkg   (count) package 10 for 99, 5 included, 26 events: ceil(21 / 10) = 3 × 99 = 297
 *   subtotal 1260, base fee 1000, total 2260
 */
const PLAN = {
  code: 'every_model',
  name: 'Every model',
  baseFee: 1000,
  meters: [
    { meter: 'm_flat', included: 10, enforcement: 'soft' as const, price: flatPrice('0.5') },
    {
      meter: 'm_grad',
      included: 0,
      enforcement: 'soft' as const,
      price: {
        model: 'graduated',
        tiers: [
          { upTo: 100, unitAmount: 1 },
          { upTo: 1000, unitAmount: '0.5', flatAmount: 20 },
          { upTo: null, unitAmount: '0.25', flatAmount: 50 },
        ],
      },
    },
    {
      meter: 'm_vol',
      included: 50,
      enforcement: 'soft' as const,
      price: {
        model: 'volume',
        tiers: [
          { upTo: 100, unitAmount: 2 },
          { upTo: null, unitAmount: 1, flatAmount: 10 },
        ],
      },
    },
    {
      meter: 'm_pkg',
      included: 5,
      enforcement: 'soft' as const,
      price: { model: 'package', packageSize: 10, packageAmount: 99 },
    },
  ],
};

const EXPECTED_LINES = [
  { meter: 'm_flat', quantity: 25, included: 10, billable: 15, amount: 8 },
  {
    meter: 'm_grad',
    quantity: 1500,
    included: 0,
    billable: 1500,
    amount: 745,
    tiers: [
      { upTo: 100, quantity: 100, unitAmount: 1, flatAmount: 0, amount: 100 },
      { upTo: 1000, quantity: 900, unitAmount: '0.5', flatAmount: 20, amount: 470 },
      { upTo: null, quantity: 500, unitAmount: '0.25', flatAmount: 50, amount: 175 },
    ],
  },
  {
    meter: 'm_vol',
    quantity: 250,
    included: 50,
    billable: 200,
    amount: 210,
    tiers: [
      { upTo: 100, quantity: 0, unitAmount: 2, flatAmount: 0, amount: 0 },
      { upTo: null, quantity: 200, unitAmount: 1, flatAmount: 10, amount: 210 },
    ],
  },
  { meter: 'm_pkg', quantity: 26, included: 5, billable: 21, amount: 297 },
];

/** The usage of the hand-worked example, at `time` (default now). */
function usage(time?: string): Record<string, unknown>[] {
  const at = time ? { time } : {};
  const events = (type: string, count: number, data?: object) =>
    Array.from({ length: count }, () => ({
      id: randomUUID(),
      type,
      ...at,
      ...(data ? { data } : {}),
    }));
  return [
    ...events('m_flat', 25),
    ...[700, 500, 300].map((n) => ({ id: randomUUID(), type: 'm_grad', ...at, data: { n } })),
    ...[100, 100, 50].map((n) => ({ id: randomUUID(), type: 'm_vol', ...at, data: { n } })),
    ...events('m_pkg', 26),
  ];
}

describe('billing: invoices', () => {
  const e2e = setupTestContext();
  let admin: TestUser, owner: TestUser, member: TestUser, outsider: TestUser;

  /** A fresh org on the example plan, existing for 40 days, with a key. */
  async function billedOrg(): Promise<{ orgId: string; key: string }> {
    const orgId = await createOrg(e2e.app, owner, { plan: PLAN.code, members: [member] });
    await backdateOrg(e2e.app, orgId, 40);
    const { key } = await createApiKey(e2e.app, owner, orgId);
    return { orgId, key };
  }

  beforeAll(async () => {
    admin = await createPlatformAdmin(e2e.app);
    [owner, member, outsider] = await createUsers(e2e.app, 3);
    await createMeter(e2e.app, admin, { slug: 'm_flat', aggregation: 'count' });
    await createMeter(e2e.app, admin, { slug: 'm_pkg', aggregation: 'count' });
    for (const slug of ['m_grad', 'm_vol'])
      await createMeter(e2e.app, admin, { slug, aggregation: 'sum', valueProperty: 'n' });
    await createPlan(e2e.app, admin, PLAN);
  });

  it('previews the current period priced by every model, as worked by hand', async () => {
    const { orgId, key } = await billedOrg();
    await sendEvents(e2e.app, key, usage());
    const res = await api(e2e.app, asUser(member))
      .get(`/orgs/${orgId}/invoices/preview`)
      .expect(200);
    expect(res.body).toEqual({
      orgId,
      period: currentPeriod(),
      status: 'draft',
      plan: { code: PLAN.code, name: PLAN.name },
      currency: 'USD',
      baseFee: 1000,
      lines: EXPECTED_LINES,
      subtotal: 1260,
      total: 2260,
    });
  });

  it('finalizes an ended period once, by its owner, into the snapshot the preview showed', async () => {
    const { orgId, key } = await billedOrg();
    const period = previousPeriod();
    await sendEvents(e2e.app, key, usage(inPreviousPeriod()));
    const draft = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/invoices/preview?period=${period}`)
      .expect(200);
    expectError(
      await api(e2e.app, asUser(member)).get(`/orgs/${orgId}/invoices/${period}`),
      404,
      'invoice_not_found',
    );
    expectError(
      await api(e2e.app, asUser(member)).post(`/orgs/${orgId}/invoices/${period}/finalize`),
      403,
      'insufficient_role',
    );
    expectError(
      await api(e2e.app, asUser(outsider)).post(`/orgs/${orgId}/invoices/${period}/finalize`),
      404,
      'org_not_found',
    );
    const final = await api(e2e.app, asUser(owner))
      .post(`/orgs/${orgId}/invoices/${period}/finalize`)
      .expect(201);
    expect(final.body).toEqual({
      ...draft.body,
      id: expect.any(String),
      status: 'finalized',
      finalizedAt: expect.any(String),
    });
    expect(final.body.total).toBe(2260);
    expectError(
      await api(e2e.app, asUser(owner)).post(`/orgs/${orgId}/invoices/${period}/finalize`),
      409,
      'invoice_finalized',
    );
    const got = await api(e2e.app, asUser(member))
      .get(`/orgs/${orgId}/invoices/${period}`)
      .expect(200);
    expect(got.body).toEqual(final.body);
    const list = await api(e2e.app, asUser(member)).get(`/orgs/${orgId}/invoices`).expect(200);
    expect(list.body).toEqual({ data: [final.body], nextCursor: null });
  });

  it('refuses to finalize a period that has not ended (409 period_open) or a bad period (400)', async () => {
    const { orgId } = await billedOrg();
    expectError(
      await api(e2e.app, asUser(owner)).post(`/orgs/${orgId}/invoices/${currentPeriod()}/finalize`),
      409,
      'period_open',
    );
    for (const bad of ['2026-13', 'last-month', '26-01']) {
      const res = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/invoices/${bad}`);
      expectError(res, 400, 'validation_failed');
    }
  });

  it('refuses late events into a finalized period (409 period_closed, naming them), storing none of the batch', async () => {
    const { orgId, key } = await billedOrg();
    const period = previousPeriod();
    await api(e2e.app, asUser(owner))
      .post(`/orgs/${orgId}/invoices/${period}/finalize`)
      .expect(201);
    const refused = await api(e2e.app, withKey(key))
      .post('/v1/events')
      .send({
        events: [
          { id: 'now-1', type: 'm_flat' },
          { id: 'late-1', type: 'm_flat', time: inPreviousPeriod(5) },
        ],
      });
    expectError(refused, 409, 'period_closed');
    expect(refused.body.errors).toEqual([
      {
        field: 'events[1].time',
        message: `events[1].time falls in ${period}, whose invoice is finalized`,
      },
    ]);
    const stored = await e2e.app
      .get(DataSource)
      .query(`SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1`, [orgId]);
    expect(stored[0].n).toBe(0);
  });

  it('keeps a finalized invoice as it was when prices change later, and bills the plan of the end of its period', async () => {
    const { orgId, key } = await billedOrg();
    const period = previousPeriod();
    await sendEvents(e2e.app, key, usage(inPreviousPeriod()));
    // The org leaves the plan after the period ended: the period is still billed on it.
    await api(e2e.app, asUser(owner)).put(`/orgs/${orgId}/plan`).send({ plan: 'pro' }).expect(200);
    const final = await api(e2e.app, asUser(owner))
      .post(`/orgs/${orgId}/invoices/${period}/finalize`)
      .expect(201);
    expect(final.body.plan).toEqual({ code: PLAN.code, name: PLAN.name });
    expect(final.body.total).toBe(2260);
    const { code: _code, ...content } = PLAN;
    await api(e2e.app, asUser(admin))
      .put(`/admin/plans/${PLAN.code}`)
      .send({
        ...content,
        currency: 'USD',
        rateLimit: { limit: 10_000, periodSeconds: 1 },
        baseFee: 99_999,
      })
      .expect(200);
    const later = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/invoices/${period}`)
      .expect(200);
    expect(later.body).toEqual(final.body);
    await api(e2e.app, asUser(admin))
      .put(`/admin/plans/${PLAN.code}`)
      .send({ ...content, currency: 'USD', rateLimit: { limit: 10_000, periodSeconds: 1 } })
      .expect(200);
  });

  it('lets an outsider see nothing of an org’s invoices (404)', async () => {
    const { orgId } = await billedOrg();
    const intruder = await createUser(e2e.app);
    for (const path of ['invoices', 'invoices/preview', `invoices/${previousPeriod()}`]) {
      expectError(
        await api(e2e.app, asUser(intruder)).get(`/orgs/${orgId}/${path}`),
        404,
        'org_not_found',
      );
    }
  });
});
