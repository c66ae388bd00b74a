import { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { expectError } from './support/assertions';
import {
  createOrgWithKey,
  createPlan,
  createPlatformAdmin,
  createUser,
  PASSWORD,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, asUser, sendText, withKey } from './support/http';
import { countStoredEvents } from './support/stored-events';
import { setupTestContext } from './support/test-app';

/**
 * Strings written as JSON escapes in the raw body text, so that the server's parser makes them:
 * U+0000 and a lone surrogate, which Postgres cannot store and JSON consumers choke on.
 */
const HOSTILE = { nul: 'a\\u0000b', surrogate: 'a\\ud800b' } as const;

/** JSON nested `depth` levels deep (arrays), as text. */
const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** A 400 `validation_failed` naming exactly `field`, with a message saying what is wrong. */
function expectBadField(res: Response, field: string): void {
  expectError(res, 400, 'validation_failed');
  expect(res.body.errors).toEqual([
    { field, message: expect.stringMatching(/U\+0000|unpaired surrogate/) },
  ]);
  expect(res.body.errors[0].message.startsWith(field)).toBe(true);
}

describe('hostile input', () => {
  const e2e = setupTestContext();
  let owner: TestUser;
  let orgId: string;
  let key: string;

  const db = () => e2e.app.get(DataSource);
  const count = async (sql: string, params: unknown[]) =>
    (await db().query(sql, params))[0].n as number;
  const storedEvents = (org = orgId) => countStoredEvents(e2e.app, org);
  /** A raw JSON text POSTed as it is. */
  const postRaw = (url: string, text: string, headers: Record<string, string> = {}) =>
    sendText(api(e2e.app, headers).post(url), text);

  beforeAll(async () => {
    // A rate limit out of the way: every hostile request is answered on its merits.
    const meters = [{ meter: 'api_calls', included: 1_000_000, enforcement: 'hard' as const }];
    await createPlan(e2e.app, await createPlatformAdmin(e2e.app), { code: 'roomy', meters });
    owner = await createUser(e2e.app);
    ({ orgId, key } = await createOrgWithKey(e2e.app, owner, { plan: 'roomy' }));
  });

  describe.each(Object.entries(HOSTILE))('a string with %s', (_, bad) => {
    it('in a sign-up email: 400 naming email, and no account', async () => {
      const users = () => count(`SELECT count(*)::int AS n FROM users`, []);
      const before = await users();
      const text = `{"email":"${bad}@example.test","password":"${PASSWORD}"}`;
      expectBadField(await postRaw('/auth/signup', text), 'email');
      expect(await users()).toBe(before);
    });

    it('in a login email or password: 400 naming the field', async () => {
      expectBadField(
        await postRaw('/auth/login', `{"email":"${bad}@x.test","password":"${PASSWORD}"}`),
        'email',
      );
      expectBadField(
        await postRaw('/auth/login', `{"email":"${owner.email}","password":"${bad}${bad}"}`),
        'password',
      );
    });

    it('in an org name: 400 naming name, and no org', async () => {
      const user = await createUser(e2e.app);
      const res = await postRaw('/orgs', `{"name":"${bad}"}`, asUser(user));
      expectBadField(res, 'name');
      expect((await api(e2e.app, asUser(user)).get('/orgs').expect(200)).body.data).toEqual([]);
    });

    it.each([
      ['an event id', `{"id":"${bad}","type":"api_calls"}`, 'id'],
      ['a subject', `{"id":"s","type":"api_calls","subject":"${bad}"}`, 'subject'],
      [
        'a value deep inside data',
        `{"id":"v","type":"api_calls","data":{"a":{"b":[1,{"c":"${bad}"}]}}}`,
        'data.a.b[1].c',
      ],
      ['a key inside data', `{"id":"k","type":"api_calls","data":{"a":{"${bad}":1}}}`, 'data.a'],
      [
        'the id of the second event of a batch',
        `{"events":[{"id":"ok","type":"api_calls"},{"id":"${bad}","type":"api_calls"}]}`,
        'events[1].id',
      ],
    ])('in %s on /v1/events: 400 naming it, and nothing stored', async (_, text, field) => {
      expectBadField(await postRaw('/v1/events', text, withKey(key)), field);
      expect(await storedEvents()).toBe(0);
    });

    it('in a CloudEvent subject: 400 naming subject, and nothing stored', async () => {
      const res = await api(e2e.app, withKey(key))
        .post('/v1/events')
        .set('Content-Type', 'application/cloudevents+json')
        .send(`{"specversion":"1.0","id":"ce","source":"s","type":"api_calls","subject":"${bad}"}`);
      expectBadField(res, 'subject');
      expect(await storedEvents()).toBe(0);
    });

    it('in the meter of /v1/verify: 400 naming meter, and nothing recorded', async () => {
      expectBadField(await postRaw('/v1/verify', `{"meter":"${bad}"}`, withKey(key)), 'meter');
      expect(await storedEvents()).toBe(0);
    });
  });

  it('refuses NUL in a query string value with 400 naming it, on user and /v1 routes', async () => {
    const listing = await api(e2e.app, asUser(owner))
      .get(`/orgs/${orgId}/events?subject=a%00b`)
      .expect(400);
    expectError(listing, 400, 'validation_failed');
    expect(listing.body.errors).toEqual([
      { field: 'query.subject', message: 'query.subject must not contain U+0000' },
    ]);
    const summary = await api(e2e.app, withKey(key))
      .get('/v1/usage/summary?period=%00')
      .expect(400);
    expect(summary.body.errors).toEqual([expect.objectContaining({ field: 'query.period' })]);
  });

  it('refuses NUL in the OAuth2 password form with 400 naming username', async () => {
    const res = await api(e2e.app)
      .post('/auth/login')
      .type('form')
      .send(`username=a%00b&password=${encodeURIComponent(PASSWORD)}`);
    expectBadField(res, 'username');
  });

  it('refuses NUL in a path segment with 400 naming the path, before any look-up', async () => {
    const admin = await createPlatformAdmin(e2e.app);
    for (const [who, url] of [
      [asUser(admin), '/admin/meters/api%00calls'],
      [asUser(admin), '/admin/plans/free%00'],
      [asUser(owner), `/orgs/${orgId}/invoices/2026-01%00`],
      [withKey(key), '/v1/ping%00'],
    ] as const) {
      const res = await api(e2e.app, who).get(url);
      expectError(res, 400, 'validation_failed');
      expect(res.body.errors).toEqual([{ field: 'path', message: 'path must not contain U+0000' }]);
    }
  });

  describe('nesting', () => {
    it.each(['/auth/signup', '/v1/events', '/v1/verify'])(
      'answers 33 levels and 100,000 levels on %s with 400, never 500',
      async (url) => {
        const headers = url.startsWith('/v1') ? withKey(key) : {};
        for (const depth of [33, 100_000]) {
          const res = await postRaw(url, deepJson(depth), headers);
          expectError(res, 400, 'bad_request');
          expect(res.body.message).toMatch(/nested deeper than 32 levels/);
        }
        const inData = `{"id":"deep","type":"api_calls","data":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`;
        if (url === '/v1/events') expect((await postRaw(url, inData, headers)).status).toBe(400);
        expect(await storedEvents()).toBe(0);
      },
    );

    it('reads 32 levels (the limit) and answers on the merits', async () => {
      // 31 levels inside the body object: a data value 32 deep, which the event shape accepts.
      const data = `${'{"a":'.repeat(30)}1${'}'.repeat(30)}`;
      const { orgId: other, key: otherKey } = await createOrgWithKey(e2e.app, owner, {
        plan: 'roomy',
      });
      const text = `{"id":"deep-ok","type":"api_calls","data":${data}}`;
      expect((await postRaw('/v1/events', text, withKey(otherKey))).status).toBe(202);
      expect(await storedEvents(other)).toBe(1);
    });
  });

  describe('encodings and syntax', () => {
    it.each(['/auth/signup', '/orgs', '/v1/events'])(
      'answers a UTF-16 body on %s with 415',
      async (url) => {
        const body = Buffer.from(`{"id":"u16","type":"api_calls"}`, 'utf16le');
        const res = await api(e2e.app, url === '/orgs' ? asUser(owner) : withKey(key))
          .post(url)
          .set('Content-Type', 'application/json; charset=utf-16')
          .send(body);
        expectError(res, 415, 'unsupported_media_type');
      },
    );

    it('accepts charset=utf-8 spelled in any case', async () => {
      const res = await api(e2e.app, asUser(owner))
        .post('/orgs')
        .set('Content-Type', 'application/json; charset="UTF-8"')
        .send('{"name":"Charset"}');
      expect(res.status).toBe(201);
    });

    it.each([
      ['/auth/signup', '{"email": '],
      ['/v1/events', '{"id":"x",}'],
      ['/v1/verify', "{'meter':'api_calls'}"],
    ])('answers malformed JSON on %s with 400 malformed_json', async (url, text) => {
      const res = await postRaw(url, text, url.startsWith('/v1') ? withKey(key) : {});
      expectError(res, 400, 'malformed_json');
    });
  });

  it("leaves another org's concurrent ingestion untouched (every request 202, every event stored)", async () => {
    const { orgId: neighbour, key: neighbourKey } = await createOrgWithKey(e2e.app, owner, {
      name: 'Neighbour',
      plan: 'roomy',
    });
    const batches = 20;
    const hostile = Array.from({ length: batches }, (_, i) => {
      const texts = [
        `{"events":[{"id":"h${i}","type":"api_calls","data":{"x":"${HOSTILE.nul}"}}]}`,
        `{"events":[{"id":"h${i}","type":"api_calls","subject":"${HOSTILE.surrogate}"}]}`,
        deepJson(100_000),
        `{"events":[{"id":"h${i}","type":"api_calls"}`,
      ];
      return postRaw('/v1/events', texts[i % texts.length], withKey(key));
    });
    const honest = Array.from({ length: batches }, (_, i) =>
      api(e2e.app, withKey(neighbourKey))
        .post('/v1/events')
        .send({
          events: Array.from({ length: 50 }, (_, j) => ({
            id: `n${i}-${j}`,
            type: 'api_calls',
            subject: `customer-${j % 5}`,
            data: { path: '/x', n: j },
          })),
        }),
    );
    const [bad, good] = await Promise.all([Promise.all(hostile), Promise.all(honest)]);
    expect(bad.map((r) => r.status)).toEqual(Array(batches).fill(400));
    expect(good.map((r) => r.status)).toEqual(Array(batches).fill(202));
    expect(await storedEvents(neighbour)).toBe(batches * 50);
    expect(await storedEvents()).toBe(0);
    // And the hostile org can still ingest honestly afterwards.
    await sendEvents(e2e.app, key, [{ id: 'after', type: 'api_calls' }]);
    expect(await storedEvents()).toBe(1);
  });
});
