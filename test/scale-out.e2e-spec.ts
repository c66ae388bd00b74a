import { DataSource } from 'typeorm';
import { AppProcess } from './support/app-process';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { backdateOrg, previousPeriod } from './support/periods';
import { describeWithPostgres, setupTestContext } from './support/test-app';
import { eventually } from './support/time';
import { startReceiver, TestReceiver } from './support/webhook-receivers';
import { checkFetchAnswer } from './support/openapi-validator';

const INSTANCES = 3;

interface Reply {
  status: number;
  body: { code?: string; accepted?: number; duplicates?: number };
}

interface Delivery {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * Three instances of the app, each a process of its own as a deployment runs them, on one
 * Postgres and one Redis (the shared server, or the Cluster when the suite runs with
 * REDIS_CLUSTER_NODES), driven round-robin as a load balancer would. What must be exact is decided
 * in Postgres or Redis, never in one process' memory: these tests fail if it is not.
 */
describeWithPostgres('several instances behind a load balancer', () => {
  const e2e = setupTestContext();
  const instances: AppProcess[] = [];
  let admin: TestUser;
  let owner: TestUser;
  let receiver: TestReceiver;
  const deliveries: Delivery[] = [];
  let next = 0;

  /** One request to the next instance in turn. */
  async function call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
    instance = instances[next++ % INSTANCES],
  ): Promise<Reply> {
    const res = await fetch(`${instance.url}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // Checked against openapi.json, as every answer the suite sees.
    checkFetchAnswer(method, path, res, text);
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  }
  const ping = (key: string, instance?: AppProcess) =>
    call('GET', '/v1/ping', { 'x-api-key': key }, undefined, instance);
  const ingest = (key: string, events: object[], instance?: AppProcess) =>
    call('POST', '/v1/events', { 'x-api-key': key }, { events }, instance);
  const count = (replies: Reply[], status: number) =>
    replies.filter((reply) => reply.status === status).length;

  /** The org's usage of `meter` this month, as the API reports it. */
  async function usage(orgId: string, meter = 'api_calls'): Promise<number> {
    const summary = await call('GET', `/orgs/${orgId}/usage/summary`, {
      authorization: `Bearer ${owner.token}`,
    });
    const lines = (summary.body as { data: { meter: string; value: number }[] }).data;
    return lines.find((line) => line.meter === meter)?.value ?? 0;
  }

  async function subscribe(orgId: string, events: string[]): Promise<void> {
    const hook = await call(
      'POST',
      `/orgs/${orgId}/webhooks`,
      { authorization: `Bearer ${owner.token}` },
      { url: `${receiver.origin}/${orgId}`, events },
    );
    expect(hook.status).toBe(201);
  }

  beforeAll(async () => {
    receiver = await startReceiver((req, res) => {
      const request = receiver.requests[receiver.requests.length - 1];
      deliveries.push({ id: String(request.headers['webhook-id']), ...JSON.parse(request.body) });
      res.writeHead(200).end();
    });
    admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    const plans = [
      { code: 'scale_rate', included: 1_000_000, limit: 30 },
      { code: 'scale_open', included: 1_000_000 },
      { code: 'scale_quota', included: 25, enforcement: 'hard' as const },
      { code: 'scale_soft', included: 20 },
    ];
    for (const { code, included, enforcement = 'soft', limit = 100_000 } of plans)
      await createPlan(e2e.app, admin, {
        code,
        rateLimit: { limit, periodSeconds: 60 },
        meters: [{ meter: 'api_calls', included, enforcement }],
      });
    // Every instance looks for invoices due each second, with no grace days.
    const env = e2e.ctx.env({ INVOICE_GRACE_DAYS: '0', INVOICE_JOB_INTERVAL_SECONDS: '1' });
    instances.push(
      ...(await Promise.all(Array.from({ length: INSTANCES }, () => AppProcess.start(env)))),
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await receiver?.close();
  });

  it('holds an org to its rate limit exactly, whichever instance a request reaches', async () => {
    const orgId = await createOrg(e2e.app, owner, { plan: 'scale_rate' });
    const { key } = await createApiKey(e2e.app, owner, orgId);
    const replies = await Promise.all(Array.from({ length: 60 }, () => ping(key)));
    expect([count(replies, 200), count(replies, 429)]).toEqual([30, 30]);
    expect(await usage(orgId)).toBe(30);
  }, 60_000);

  it('stops a hard quota at exactly its size', async () => {
    const orgId = await createOrg(e2e.app, owner, { plan: 'scale_quota' });
    const { key } = await createApiKey(e2e.app, owner, orgId);
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 ? ping(key) : ingest(key, [{ id: `q${i}`, type: 'api_calls' }]),
      ),
    );
    expect([count(replies, 200) + count(replies, 202), count(replies, 429)]).toEqual([25, 15]);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(new Set(refused.map((reply) => reply.body.code))).toEqual(new Set(['quota_exceeded']));
    expect(await usage(orgId)).toBe(25);
  }, 60_000);

  it('counts every event once when retries of a batch reach different instances at once', async () => {
    const orgId = await createOrg(e2e.app, owner, { plan: 'scale_open' });
    const { key } = await createApiKey(e2e.app, owner, orgId);
    // 20 batches of 10 over 100 ids, each batch sent to every instance at the same moment.
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) => ({ id: `e${(b * 5 + i) % 100}`, type: 'api_calls' })),
    );
    const replies = await Promise.all(
      batches.flatMap((batch) => instances.map((instance) => ingest(key, batch, instance))),
    );
    expect(replies.filter((reply) => reply.status !== 202)).toEqual([]);
    const accepted = replies.reduce((sum, reply) => sum + reply.body.accepted!, 0);
    const duplicates = replies.reduce((sum, reply) => sum + reply.body.duplicates!, 0);
    expect([accepted, duplicates]).toEqual([100, 20 * 10 * INSTANCES - 100]);
    expect(await usage(orgId)).toBe(100);
    const [stored] = await e2e.app
      .get(DataSource)
      .query(`SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1`, [orgId]);
    expect(stored.n).toBe(100);
  }, 60_000);

  it('refuses a revoked key on every instance within 1 second', async () => {
    const orgId = await createOrg(e2e.app, owner, { plan: 'scale_open' });
    const { id, key } = await createApiKey(e2e.app, owner, orgId);
    // Every instance has the key in its cache.
    for (const instance of instances) expect((await ping(key, instance)).status).toBe(200);
    const revoked = await call('DELETE', `/orgs/${orgId}/api-keys/${id}`, {
      authorization: `Bearer ${owner.token}`,
    });
    expect(revoked.status).toBe(204);
    const at = Date.now();
    const refusedAfter = await Promise.all(
      instances.map(async (instance) => {
        for (;;) {
          const reply = await ping(key, instance);
          if (reply.status === 401) return Date.now() - at;
          expect(reply.status).toBe(200);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }),
    );
    expect(Math.max(...refusedAfter)).toBeLessThanOrEqual(1_000);
  }, 30_000);

  it('sends each quota threshold once while all instances ingest', async () => {
    const orgId = await createOrg(e2e.app, owner, { plan: 'scale_soft' });
    await subscribe(orgId, ['quota.threshold']);
    const { key } = await createApiKey(e2e.app, owner, orgId);
    // 30 requests of one event at once: 16 and 20 of 20 included are crossed on the way.
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => ingest(key, [{ id: `t${i}`, type: 'api_calls' }])),
    );
    expect(replies.filter((reply) => reply.status !== 202)).toEqual([]);
    const mine = () => deliveries.filter((d) => d.data.orgId === orgId);
    await eventually(() => expect(mine()).toHaveLength(2), { timeoutMs: 15_000 });
    // Time for a second delivery of either, had any instance decided to send one.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(
      mine()
        .map((d) => [d.type, d.data.threshold])
        .sort(),
    ).toEqual([
      ['quota.threshold', 100],
      ['quota.threshold', 80],
    ]);
    expect(new Set(mine().map((d) => d.id)).size).toBe(2);
  }, 40_000);

  it('finalizes an ended month once, though every instance runs the job each second', async () => {
    const orgId = await createOrg(e2e.app, owner, { plan: 'scale_soft' });
    await subscribe(orgId, ['invoice.finalized']);
    await backdateOrg(e2e.app, orgId, 40);
    const period = previousPeriod();
    const mine = () => deliveries.filter((d) => d.data.orgId === orgId);
    await eventually(() => expect(mine()).toHaveLength(1), { timeoutMs: 15_000 });
    // Three more sweeps of each instance find nothing left to do.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(mine()).toEqual([
      expect.objectContaining({
        type: 'invoice.finalized',
        data: expect.objectContaining({ period }),
      }),
    ]);
    const invoices = await e2e.app
      .get(DataSource)
      .query(`SELECT period FROM invoices WHERE org_id = $1`, [orgId]);
    expect(invoices).toEqual([{ period }]);
  }, 40_000);
});
