import { DataSource } from 'typeorm';
import { expectError } from './support/assertions';
import {
  createMeter,
  createOrgWithKey,
  createPlan,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { api, asUser, sendText, withKey } from './support/http';
import { countStoredEvents } from './support/stored-events';
import { setupTestContext } from './support/test-app';

/** Numbers written as raw JSON text, so that the server's parser reads them as a client wrote them. */
const TOO_BIG = ['9007199254740994', '18014398509481984', '1e300'];
const OVERFLOW = ['1e309', '-1e309', '123456789e999'];

describe('hostile numbers', () => {
  const e2e = setupTestContext();
  let owner: TestUser;

  const db = () => e2e.app.get(DataSource);
  const storedEvents = (orgId: string) => countStoredEvents(e2e.app, orgId);
  const post = (key: string, text: string) =>
    sendText(api(e2e.app, withKey(key)).post('/v1/events'), text);
  const tokens = (id: string, value: string) =>
    `{"id":"${id}","type":"tokens","data":{"tokens":${value}}}`;
  const peak = (id: string, value: string) => `{"id":"${id}","type":"peak","data":{"v":${value}}}`;
  const tokensUsed = async (orgId: string) => {
    const res = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/usage/summary`).expect(200);
    return res.body.data.find((line: { meter: string }) => line.meter === 'tokens').value;
  };

  /** A fresh org on the `tokens_100` plan (a hard quota of 100 tokens) with a key. */
  const orgWithKey = () => createOrgWithKey(e2e.app, owner, { plan: 'tokens_100' });

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    await createMeter(e2e.app, admin, {
      slug: 'tokens',
      aggregation: 'sum',
      valueProperty: 'tokens',
    });
    await createMeter(e2e.app, admin, { slug: 'peak', aggregation: 'max', valueProperty: 'v' });
    await createPlan(e2e.app, admin, {
      code: 'tokens_100',
      meters: [{ meter: 'tokens', included: 100, enforcement: 'hard' }],
    });
  });

  describe('negative values on a sum meter', () => {
    it('answers 400 negative_value naming the event, stores nothing, and never lowers the hard quota', async () => {
      const { orgId, key } = await orgWithKey();
      await post(key, tokens('t1', '60')).expect(202);
      for (const text of [
        tokens('neg', '-50'),
        tokens('neg-string', '"-50"'),
        tokens('neg-small', '-0.5'),
        `{"events":[${tokens('ok', '1')},${tokens('neg', '-1000')}]}`,
      ]) {
        const res = await post(key, text);
        expectError(res, 400, 'negative_value');
        expect(res.body.errors).toEqual([
          {
            field: expect.stringMatching(/^(events\[1\]\.)?data\.tokens$/),
            message: expect.any(String),
          },
        ]);
      }
      expect(await storedEvents(orgId)).toBe(1);
      expect(await tokensUsed(orgId)).toBe(60);
      // Had -50 been counted, 41 more would fit under 100.
      expectError(await post(key, tokens('t2', '41')), 429, 'quota_exceeded');
      await post(key, tokens('t3', '40')).expect(202);
      expect(await tokensUsed(orgId)).toBe(100);
    });

    it('takes negative values on a max meter (only their size is bounded)', async () => {
      const { orgId, key } = await orgWithKey();
      await post(key, peak('p1', '-5')).expect(202);
      await post(key, peak('p2', '-9007199254740991')).expect(202);
      const res = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/events`).expect(200);
      expect(res.body.data.map((e: { data: unknown }) => e.data)).toEqual(
        expect.arrayContaining([{ v: -5 }, { v: -9007199254740991 }]),
      );
    });
  });

  describe('values too large for an exact JSON number', () => {
    it.each(TOO_BIG)('refuses %s on a sum meter with 400 naming data.tokens', async (value) => {
      const { orgId, key } = await orgWithKey();
      const res = await post(key, tokens('big', value));
      expectError(res, 400, 'validation_failed');
      expect(res.body.errors).toEqual([
        { field: 'data.tokens', message: 'data.tokens must be a number of magnitude at most 2^53' },
      ]);
      expect(await storedEvents(orgId)).toBe(0);
    });

    it.each(['-9007199254740994', '-1e300', '9007199254740994'])(
      'refuses %s on a max meter with 400 naming data.v',
      async (value) => {
        const { orgId, key } = await orgWithKey();
        const res = await post(key, peak('big', value));
        expectError(res, 400, 'validation_failed');
        expect(res.body.errors).toEqual([{ field: 'data.v', message: expect.any(String) }]);
        expect(await storedEvents(orgId)).toBe(0);
      },
    );

    it.each([
      ['2^53 - 1', '9007199254740991', 2 ** 53 - 1],
      ['2^53', '9007199254740992', 2 ** 53],
      ['-2^53', '-9007199254740992', -(2 ** 53)],
    ])('takes %s (the contract: at most 2^53) and stores it exactly', async (_, text, stored) => {
      const { orgId, key } = await orgWithKey();
      await post(key, peak('edge', text)).expect(202);
      const [{ value }] = await db().query(`SELECT value FROM usage_events WHERE org_id = $1`, [
        orgId,
      ]);
      expect(value).toBe(stored);
      const listed = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/events`).expect(200);
      expect(listed.text).toContain(`{"v":${text}}`);
    });
  });

  describe('numbers that overflow (1e309)', () => {
    it.each(OVERFLOW)('refuses %s as a value with 400 naming it', async (value) => {
      const { orgId, key } = await orgWithKey();
      for (const [text, field] of [
        [tokens('o1', value), 'data.tokens'],
        [peak('o2', value), 'data.v'],
        [`{"id":"o3","type":"api_calls","data":{"other":[${value}]}}`, 'data.other[0]'],
      ]) {
        const res = await post(key, text);
        expectError(res, 400, 'validation_failed');
        expect(res.body.errors).toEqual([{ field, message: `${field} must be a finite number` }]);
      }
      expect(await storedEvents(orgId)).toBe(0);
    });
  });

  it('keeps the hard quota whole after every refused number, on /v1/events and /v1/verify', async () => {
    const { orgId, key } = await orgWithKey();
    const verify = (text: string) => sendText(api(e2e.app, withKey(key)).post('/v1/verify'), text);
    for (const value of [...TOO_BIG, ...OVERFLOW, '-1', '-9007199254740994'])
      expect((await post(key, tokens(`x${value}`, value))).status).toBe(400);
    for (const cost of ['9007199254740994', '1e300', '1e309', '-1', '0']) {
      const res = await verify(`{"meter":"tokens","cost":${cost}}`);
      expectError(res, 400, 'validation_failed');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['cost']);
    }
    expect(await storedEvents(orgId)).toBe(0);
    expect(await tokensUsed(orgId)).toBe(0);
    // The quota is all there: 100 fit, one more does not.
    const ok = await verify('{"meter":"tokens","cost":100}').expect(200);
    expect(ok.body).toMatchObject({ valid: true, quota: { meter: 'tokens', remaining: 0 } });
    expectError(await post(key, tokens('one-more', '1')), 429, 'quota_exceeded');
  });
});
