import { randomUUID } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import { UUID } from './support/assertions';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { sample } from './support/metrics';
import { hasSharedRedis } from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';

const METRICS_TOKEN = 'a-metrics-token-for-the-tests';

/** Every label value of a scrape. */
const labelValues = (text: string) =>
  [...text.matchAll(/\w+="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);

describe('metrics', () => {
  const e2e = setupTestContext();
  let owner: TestUser, orgId: string;
  const scrape = async (app: NestExpressApplication = e2e.app) =>
    (await api(app).get('/metrics').expect(200)).text;

  beforeAll(async () => {
    owner = await createUser(e2e.app);
    const admin = await createPlatformAdmin(e2e.app);
    await createPlan(e2e.app, admin, { code: 'metrics-roomy', meters: [] });
    orgId = await createOrg(e2e.app, owner, { plan: 'metrics-roomy' });
  });

  it('times HTTP requests by route template, method and status, never by URL', async () => {
    await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}`).expect(200);
    await api(e2e.app, asUser(owner)).get(`/orgs/${randomUUID()}`).expect(404);
    await api(e2e.app).get(`/no-such-route/${randomUUID()}`).expect(404);
    const text = await scrape();
    const count = 'http_request_duration_seconds_count';
    const org = { method: 'GET', route: '/orgs/:orgId' };
    expect(sample(text, count, { ...org, status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, count, { ...org, status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, count, { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_request_duration_seconds_bucket', { ...org, le: '+Inf' })).toBe(
      sample(text, count, org),
    );
    const ids = labelValues(text).filter(
      (v) => v.includes(orgId) || UUID.test(v) || /[0-9a-f]{8}-[0-9a-f]{4}-/.test(v),
    );
    expect(ids).toEqual([]);
  });

  it('counts admission decisions, events and duplicates, group commits, error codes and the key cache', async () => {
    const { key } = await createApiKey(e2e.app, owner, orgId, {
      rateLimit: { limit: 3, periodSeconds: 60 },
    });
    const before = await scrape();
    await api(e2e.app, withKey(key))
      .post('/v1/events')
      .send({
        events: [
          { id: 'm1', type: 'api_calls' },
          { id: 'm2', type: 'api_calls' },
        ],
      })
      .expect(202, { accepted: 2, duplicates: 0 });
    await api(e2e.app, withKey(key))
      .post('/v1/events')
      .send({ id: 'm1', type: 'api_calls' })
      .expect(202, { accepted: 0, duplicates: 1 });
    await api(e2e.app, withKey(key)).get('/v1/ping').expect(200);
    await api(e2e.app, withKey(key)).get('/v1/ping').expect(429);
    const after = await scrape();
    const delta = (name: string, labels?: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);

    expect(delta('admission_decisions_total', { outcome: 'allowed' })).toBe(3);
    expect(delta('admission_decisions_total', { outcome: 'rate_limited' })).toBe(1);
    expect(delta('admission_decisions_total', { outcome: 'failed_open' })).toBe(0);
    // Two new events, the repeated one, and the ping's api_calls event.
    expect(delta('usage_events_ingested_total')).toBe(3);
    expect(delta('usage_events_duplicates_total')).toBe(1);
    expect(delta('usage_writer_batch_rows_count')).toBeGreaterThanOrEqual(1);
    expect(delta('usage_writer_batch_rows_sum')).toBeGreaterThanOrEqual(4);
    expect(delta('usage_writer_flush_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('http_error_responses_total', { status: '429', code: 'rate_limited' })).toBe(1);
    // The new key is read once; then it is cached (once this instance listens for revocations).
    const lookups = (result: string) => delta('api_key_cache_lookups_total', { result });
    expect(lookups('miss') + lookups('bypass')).toBeGreaterThanOrEqual(1);
    expect(lookups('hit') + lookups('miss') + lookups('bypass')).toBe(4);
    if (!hasSharedRedis) expect(lookups('hit')).toBe(3);
  });

  it('reads the Postgres pools and the Redis connection when scraped', async () => {
    const text = await eventually(
      async () => {
        const text = await scrape();
        if (hasSharedRedis) expect(sample(text, 'api_key_cache_subscribed')).toBe(1);
        return text;
      },
      { timeoutMs: 5000 },
    );
    const size = process.env.DATABASE_URL ? 10 : 1;
    expect(sample(text, 'db_pool_max_connections', { pool: 'main' })).toBe(size);
    expect(text).toMatch(/^db_pool_connections_in_use\{pool="main"\} \d+$/m);
    expect(text).toMatch(/^db_pool_waiting_clients\{pool="main"\} \d+$/m);
    // The reports' own pool: a quarter of the main one (none on a one-connection database).
    if (size > 1) expect(sample(text, 'db_pool_max_connections', { pool: 'reports' })).toBe(3);
    if (hasSharedRedis) expect(sample(text, 'redis_connected')).toBe(1);
    else expect(text).not.toMatch(/^redis_connected /m);
  });

  it('wants METRICS_TOKEN when it is set', async () => {
    const guarded = await e2e.ctx.startApp({ METRICS_TOKEN });
    await api(guarded).get('/metrics').expect(401);
    await api(guarded, { Authorization: 'Bearer not-the-metrics-token-at-all' })
      .get('/metrics')
      .expect(401);
    const res = await api(guarded, { Authorization: `Bearer ${METRICS_TOKEN}` })
      .get('/metrics')
      .expect(200);
    expect(res.text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
  });
});
