import { NestExpressApplication } from '@nestjs/platform-express';
import { Response } from 'supertest';
import { CONNECT_TIMEOUT_MS } from '../src/database/typeorm-options';
import { expectError } from './support/assertions';
import { createApiKey, createOrg, createUser, sendEvents, TestUser } from './support/factories';
import { api, asUser, withKey } from './support/http';
import { CutMode, TcpProxy } from './support/tcp-proxy';
import { describeWithPostgres, setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/**
 * How long an answer may take while Postgres is away: a request waits at most CONNECT_TIMEOUT_MS
 * for a connection, and this leaves a margin for a busy machine.
 */
const OUTAGE_ANSWER_MS = CONNECT_TIMEOUT_MS + 1_500;

describeWithPostgres('when Postgres goes away (behind a proxy the test cuts)', () => {
  const e2e = setupTestContext({ startApp: false });
  let proxy: TcpProxy;
  let app: NestExpressApplication;
  let owner: TestUser, orgId: string, key: string;
  /** A key per cut that this instance has never seen: its look-up needs Postgres. */
  const unseenKeys = new Map<CutMode, string>();
  let serial = 0;

  /** Each route that needs Postgres, as a client calls it; each answers its own success. */
  const calls: [string, number, () => Promise<Response>][] = [
    [
      'POST /v1/events',
      202,
      () =>
        api(app, withKey(key))
          .post('/v1/events')
          .send({ id: `outage-${serial++}`, type: 'api_calls' }),
    ],
    [
      'POST /auth/login',
      200,
      () => api(app).post('/auth/login').send({ email: owner.email, password: owner.password }),
    ],
    ['GET /orgs/:orgId', 200, () => api(app, asUser(owner)).get(`/orgs/${orgId}`)],
    ['GET /orgs/:orgId/members', 200, () => api(app, asUser(owner)).get(`/orgs/${orgId}/members`)],
    ['GET /v1/usage/summary', 200, () => api(app, withKey(key)).get('/v1/usage/summary')],
  ];

  beforeAll(async () => {
    const direct = e2e.ctx.database.url;
    proxy = await TcpProxy.forUrl(direct);
    app = await e2e.ctx.startApp({ DATABASE_URL: proxy.url(direct) });
    owner = await createUser(app);
    orgId = await createOrg(app, owner);
    ({ key } = await createApiKey(app, owner, orgId));
    await sendEvents(app, key, [{ id: 'before', type: 'api_calls' }]);
    for (const mode of ['refuse', 'blackhole'] as const)
      unseenKeys.set(mode, (await createApiKey(app, owner, orgId, { name: mode })).key);
  });
  afterAll(async () => {
    proxy?.restore();
    await proxy?.close();
  });

  it.each<CutMode>(['refuse', 'blackhole'])(
    'answers 503 database_unavailable with Retry-After within seconds while cut (%s), and recovers by itself',
    async (mode) => {
      for (const [name, status, call] of calls)
        expect([name, (await call()).status]).toEqual([name, status]);

      proxy.cut(mode);
      try {
        const answers = await Promise.all(
          calls.map(async ([name, , call]) => {
            const started = Date.now();
            const res = await call();
            return { name, res, ms: Date.now() - started };
          }),
        );
        expect(
          answers.map(({ name, res, ms }) => ({
            name,
            status: res.status,
            code: res.body.code,
            retryAfter: res.headers['retry-after'],
            answeredInTime: ms < OUTAGE_ANSWER_MS,
          })),
        ).toEqual(
          calls.map(([name]) => ({
            name,
            status: 503,
            code: 'database_unavailable',
            retryAfter: expect.stringMatching(/^[1-9]\d*$/),
            answeredInTime: true,
          })),
        );
        answers.forEach(({ res }) => expectError(res, 503, 'database_unavailable'));
        // Not a 401: a key that cannot be looked up is not an invalid key.
        const unseen = await api(app, withKey(unseenKeys.get(mode)!)).get('/v1/ping');
        expectError(unseen, 503, 'database_unavailable');
        const ready = await api(app).get('/health/ready').expect(503);
        expect(ready.body).toMatchObject({ code: 'not_ready' });
        expect(ready.body.details.postgres.status).toBe('down');
        await api(app).get('/health').expect(200, { status: 'ok' });
      } finally {
        proxy.restore();
      }

      await eventually(() => api(app).get('/health/ready').expect(200), { timeoutMs: 10_000 });
      for (const [name, status, call] of calls) {
        await eventually(
          async () => expect([name, (await call()).status]).toEqual([name, status]),
          { timeoutMs: 10_000, intervalMs: 200 },
        );
      }
    },
  );

  it('starts while Postgres cannot be reached yet, once it can', async () => {
    const direct = e2e.ctx.database.url;
    const late = await TcpProxy.forUrl(direct);
    try {
      late.cut('refuse');
      const starting = e2e.ctx.startApp({ DATABASE_URL: late.url(direct) });
      // Postgres comes up a moment after the app (a deploy that starts both together).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      late.restore();
      const instance = await starting;
      await api(instance).get('/health/ready').expect(200);
    } finally {
      await late.close();
    }
  });
});
