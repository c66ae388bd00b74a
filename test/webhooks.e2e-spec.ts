import { Webhook } from 'standardwebhooks';
import { currentPeriod } from '../src/common/period';
import { expectError } from './support/assertions';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUsers,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, asUser } from './support/http';
import { sample } from './support/metrics';
import { backdateOrg, inPreviousPeriod, previousPeriod } from './support/periods';
import { InvoiceFinalizer } from '../src/billing/invoice-finalizer.job';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';
import { startReceiver, TestReceiver } from './support/webhook-receivers';

interface Message {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A receiver that verifies every message with the reference library, as any receiver would. */
async function verifyingReceiver(answer: (attempt: number) => number = () => 200) {
  let secret = '';
  const attempts = new Map<string, number>();
  const verified: { id: string; body: Message }[] = [];
  const receiver: TestReceiver = await startReceiver((_req, res) => {
    const request = receiver.requests[receiver.requests.length - 1];
    const id = String(request.headers['webhook-id']);
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    let body: Message;
    try {
      body = new Webhook(secret).verify(
        request.body,
        request.headers as Record<string, string>,
      ) as Message;
    } catch {
      res.writeHead(401).end();
      return;
    }
    const status = answer(attempt);
    if (status < 300) verified.push({ id, body });
    res.writeHead(status).end();
  });
  return {
    receiver,
    /** The endpoint's secret, once the API has shown it. */
    useSecret: (s: string) => (secret = s),
    verified,
  };
}

describe('webhooks', () => {
  const e2e = setupTestContext({ env: { WEBHOOK_RETRY_BASE_SECONDS: '1' } });
  let admin: TestUser, owner: TestUser, member: TestUser, outsider: TestUser;

  beforeAll(async () => {
    admin = await createPlatformAdmin(e2e.app);
    [owner, member, outsider] = await createUsers(e2e.app, 3);
    await createPlan(e2e.app, admin, {
      code: 'ten_calls',
      meters: [{ meter: 'api_calls', included: 10, enforcement: 'soft' }],
    });
  });

  it('shows the secret once, lists endpoints without it, and guards them by role', async () => {
    const orgId = await createOrg(e2e.app, owner, { members: [member] });
    const created = await api(e2e.app, asUser(owner))
      .post(`/orgs/${orgId}/webhooks`)
      .send({ url: 'https://hooks.example.com/metering', events: ['quota.threshold'] })
      .expect(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      url: 'https://hooks.example.com/metering',
      events: ['quota.threshold'],
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      createdAt: expect.any(String),
    });
    expect(Buffer.from(created.body.secret.slice(6), 'base64')).toHaveLength(32);
    const list = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/webhooks`).expect(200);
    const { secret: _secret, ...shown } = created.body;
    expect(list.body.data).toEqual([shown]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expectError(
      await api(e2e.app, asUser(member)).get(`/orgs/${orgId}/webhooks`),
      403,
      'insufficient_role',
    );
    expectError(
      await api(e2e.app, asUser(outsider)).get(`/orgs/${orgId}/webhooks`),
      404,
      'org_not_found',
    );
    const deliveries = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/webhooks/${created.body.id}/deliveries`)
      .expect(200);
    expect(deliveries.body).toEqual({ data: [], nextCursor: null });
    await api(e2e.app, asUser(owner))
      .delete(`/orgs/${orgId}/webhooks/${created.body.id}`)
      .expect(204);
    expectError(
      await api(e2e.app, asUser(owner)).get(
        `/orgs/${orgId}/webhooks/${created.body.id}/deliveries`,
      ),
      404,
      'webhook_not_found',
    );
  });

  it('sends each quota threshold once while 10 requests ingest at once, retrying failures with the same id', async () => {
    const { receiver, useSecret, verified } = await verifyingReceiver((attempt) =>
      attempt <= 2 ? 500 : 200,
    );
    try {
      const orgId = await createOrg(e2e.app, owner, { plan: 'ten_calls' });
      const hook = await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgId}/webhooks`)
        .send({ url: `${receiver.origin}/hook`, events: ['quota.threshold'] })
        .expect(201);
      useSecret(hook.body.secret);
      const { key } = await createApiKey(e2e.app, owner, orgId);
      // 10 concurrent requests of 2 events: 8 then 10 of 10 included are crossed on the way to 20.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sendEvents(e2e.app, key, [
            { id: `a${i}`, type: 'api_calls' },
            { id: `b${i}`, type: 'api_calls' },
          ]),
        ),
      );
      await eventually(() => expect(verified).toHaveLength(2), {
        timeoutMs: 20_000,
        intervalMs: 250,
      });
      const period = currentPeriod();
      const bodies = verified.map((v) => v.body);
      expect(bodies.map((b) => b.data.threshold).sort()).toEqual([100, 80]);
      for (const body of bodies) {
        expect(body).toEqual({
          type: 'quota.threshold',
          timestamp: expect.any(String),
          data: {
            orgId,
            meter: 'api_calls',
            period,
            threshold: body.data.threshold,
            value: expect.any(Number),
            included: 10,
          },
        });
        expect(body.data.value).toBeGreaterThanOrEqual((10 * Number(body.data.threshold)) / 100);
      }
      // Three attempts per message, all with the message's own id, and no message twice.
      const ids = receiver.requests.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(2);
      expect(ids).toHaveLength(6);
      const deliveries = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/webhooks/${hook.body.id}/deliveries`)
        .expect(200);
      expect(deliveries.body.data).toHaveLength(2);
      for (const d of deliveries.body.data) {
        expect(d).toMatchObject({
          type: 'quota.threshold',
          status: 'delivered',
          attempts: 3,
          lastStatusCode: 200,
          nextAttemptAt: null,
        });
        expect(ids).toContain(d.eventId);
      }
      // More usage past 100 % sends nothing more.
      await sendEvents(e2e.app, key, [{ id: 'more', type: 'api_calls' }]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(receiver.requests).toHaveLength(6);
      // The operator sees the attempts on /metrics, and an outbox with nothing left due.
      const metrics = (await api(e2e.app).get('/metrics').expect(200)).text;
      const attempts = (outcome: string) =>
        sample(metrics, 'webhook_deliveries_total', { outcome });
      expect([attempts('retrying'), attempts('delivered'), attempts('failed')]).toEqual([4, 2, 0]);
      expect(sample(metrics, 'webhook_delivery_duration_seconds_count')).toBe(6);
      expect(sample(metrics, 'webhook_outbox_due')).toBe(0);
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('announces a finalized invoice once, and the job finalizes every org once across two instances', async () => {
    const { receiver, useSecret, verified } = await verifyingReceiver();
    try {
      const orgIds = [await createOrg(e2e.app, owner), await createOrg(e2e.app, owner)];
      for (const orgId of orgIds) await backdateOrg(e2e.app, orgId, 40);
      const hook = await api(e2e.app, asUser(owner))
        .post(`/orgs/${orgIds[0]}/webhooks`)
        .send({ url: `${receiver.origin}/hook`, events: ['invoice.finalized'] })
        .expect(201);
      useSecret(hook.body.secret);
      const { key } = await createApiKey(e2e.app, owner, orgIds[0]);
      await sendEvents(e2e.app, key, [{ id: 'late', type: 'api_calls', time: inPreviousPeriod() }]);

      // Two instances sweep at the same time (one, twice, on a database of one connection).
      const second = process.env.DATABASE_URL ? await e2e.ctx.startApp() : e2e.app;
      const now = new Date();
      const counts = await Promise.all(
        [e2e.app, second].map((app) => app.get(InvoiceFinalizer).finalizeDue(now)),
      );
      const period = previousPeriod();
      for (const orgId of orgIds) {
        const list = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/invoices`).expect(200);
        expect(list.body.data.map((i: { period: string }) => i.period)).toEqual([period]);
      }
      expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(orgIds.length);
      await eventually(() => expect(verified).toHaveLength(1), { timeoutMs: 10_000 });
      const invoice = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgIds[0]}/invoices/${period}`)
        .expect(200);
      expect(verified[0].body).toEqual({
        type: 'invoice.finalized',
        timestamp: expect.any(String),
        data: { orgId: orgIds[0], period, invoiceId: invoice.body.id, total: 0, currency: 'USD' },
      });
      // A second sweep finds nothing left to do.
      expect(await e2e.app.get(InvoiceFinalizer).finalizeDue(now)).toBe(0);
    } finally {
      await receiver.close();
    }
  }, 30_000);

  // Last in the file on purpose: these instances' webhook workers refuse local receivers, and
  // passport's one strategy per process must not change under the other tests.
  it('refuses private, loopback and plain-http URLs in production (unless allowed)', async () => {
    // The spec's JWT secret is production-grade: passport's strategy is one per process, so every
    // instance here must verify the same tokens.
    const production = { NODE_ENV: 'production' };
    const prod = await e2e.ctx.startApp(production);
    const orgId = await createOrg(prod, owner);
    for (const url of [
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://localhost/hook',
      'http://hooks.example.com/hook',
    ]) {
      const res = await api(prod, asUser(owner))
        .post(`/orgs/${orgId}/webhooks`)
        .send({ url, events: ['quota.threshold'] });
      expectError(res, 400, 'webhook_url_forbidden');
    }
    const lenient = await e2e.ctx.startApp({ ...production, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
    await api(lenient, asUser(owner))
      .post(`/orgs/${orgId}/webhooks`)
      .send({ url: 'http://127.0.0.1:9/hook', events: ['quota.threshold'] })
      .expect(201);
  });
});
