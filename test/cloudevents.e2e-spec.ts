import { randomUUID } from 'node:crypto';
import { expectError } from './support/assertions';
import {
  createApiKey,
  createMeter,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';

const ONE = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

/** A CloudEvent as OpenMeter's SDKs and the CloudEvents libraries write it. */
const cloudEvent = (fields: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: randomUUID(),
  source: 'billing-service',
  type: 'tokens',
  data: { n: 1 },
  ...fields,
});

describe('CloudEvents ingestion (structured mode)', () => {
  const e2e = setupTestContext();
  let owner: TestUser;

  /** Posts `body` as it is, under `contentType`. */
  const post = (key: string, contentType: string, body: unknown) =>
    api(e2e.app, withKey(key))
      .post('/v1/events')
      .set('Content-Type', contentType)
      .send(JSON.stringify(body));

  async function orgWithKey(): Promise<{ orgId: string; key: string }> {
    const orgId = await createOrg(e2e.app, owner, { plan: 'metered' });
    const { key } = await createApiKey(e2e.app, owner, orgId);
    return { orgId, key };
  }

  const listed = async (orgId: string) =>
    (await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/events?limit=100`).expect(200)).body
      .data as Record<string, unknown>[];

  const tokensUsed = async (orgId: string) => {
    const res = await api(e2e.app, asUser(owner)).get(`/orgs/${orgId}/usage/summary`).expect(200);
    return res.body.data.find((line: { meter: string }) => line.meter === 'tokens')?.value;
  };

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    await createMeter(e2e.app, admin, { slug: 'tokens', aggregation: 'sum', valueProperty: 'n' });
    await createPlan(e2e.app, admin, {
      code: 'metered',
      meters: [{ meter: 'tokens', included: 1_000_000, enforcement: 'hard' }],
    });
  });

  it('maps id, type, subject, time and data one to one; source, datacontenttype and dataschema are ignored', async () => {
    const { orgId, key } = await orgWithKey();
    const time = new Date(Date.now() - 3_600_000).toISOString();
    const event = cloudEvent({
      id: 'ce-1',
      subject: 'customer-42',
      time,
      datacontenttype: 'application/json',
      dataschema: 'https://example.com/schemas/tokens.json',
      data: { n: 1200, model: 'large' },
    });
    const res = await post(key, ONE, event).expect(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(await listed(orgId)).toEqual([
      expect.objectContaining({
        id: 'ce-1',
        type: 'tokens',
        subject: 'customer-42',
        time,
        data: { n: 1200, model: 'large' },
      }),
    ]);
    expect(await tokensUsed(orgId)).toBe(1200);
  });

  it('takes a batch as an array, with the same idempotency as JSON events', async () => {
    const { orgId, key } = await orgWithKey();
    const batch = [1, 2, 3].map((n) => cloudEvent({ id: `b-${n}`, data: { n } }));
    expect((await post(key, BATCH, batch).expect(202)).body).toEqual({
      accepted: 3,
      duplicates: 0,
    });
    // The same ids again, in either format, are duplicates, whatever their body now says.
    expect(
      (await post(key, BATCH, [...batch, cloudEvent({ id: 'b-4', data: { n: 4 } })]).expect(202))
        .body,
    ).toEqual({
      accepted: 1,
      duplicates: 3,
    });
    expect(
      await sendEvents(e2e.app, key, [{ id: 'b-1', type: 'tokens', data: { n: 1000 } }]),
    ).toEqual({ accepted: 0, duplicates: 1 });
    expect(
      (await post(key, ONE, cloudEvent({ id: 'b-2', data: { n: 1000 } })).expect(202)).body,
    ).toEqual({
      accepted: 0,
      duplicates: 1,
    });
    expect(await tokensUsed(orgId)).toBe(1 + 2 + 3 + 4);
  });

  it('accepts a charset parameter and a JSON event id shared with a CloudEvent', async () => {
    const { orgId, key } = await orgWithKey();
    await sendEvents(e2e.app, key, [{ id: 'shared', type: 'tokens', data: { n: 5 } }]);
    const res = await post(
      key,
      `${ONE}; charset=utf-8`,
      cloudEvent({ id: 'shared', data: { n: 7 } }),
    ).expect(202);
    expect(res.body).toEqual({ accepted: 0, duplicates: 1 });
    expect(await tokensUsed(orgId)).toBe(5);
  });

  it('refuses what is not a CloudEvent 1.0 with 400 naming the attribute, and stores nothing', async () => {
    const { orgId, key } = await orgWithKey();
    const cases: [unknown, string][] = [
      [cloudEvent({ specversion: '0.3' }), 'specversion'],
      [{ ...cloudEvent(), source: undefined }, 'source'],
      [{ specversion: '1.0', source: 's', type: 'tokens' }, 'id'],
      [cloudEvent({ type: 'no_such_meter' }), 'type'],
      [cloudEvent({ data: { n: 'many' } }), 'data.n'],
      [cloudEvent({ data: { n: -1 } }), 'data.n'],
      [cloudEvent({ data_base64: 'AAEC' }), 'data_base64'],
      [cloudEvent({ traceparent: '00-abc' }), 'traceparent'],
      [cloudEvent({ time: 'yesterday' }), 'time'],
    ];
    for (const [body, field] of cases) {
      const res = await post(key, ONE, body);
      expect([res.status, res.body.errors?.map((e: { field: string }) => e.field)]).toEqual([
        400,
        [expect.stringContaining(field)],
      ]);
    }
    // A batch is validated whole and named by index; one that is not an array is refused too.
    const res = await post(key, BATCH, [
      cloudEvent({ data: { n: 1 } }),
      cloudEvent({ specversion: '2.0' }),
    ]);
    expectError(res, 400, 'validation_failed');
    expect(res.body.errors).toEqual([{ field: '[1].specversion', message: expect.any(String) }]);
    expectError(await post(key, BATCH, cloudEvent()), 400, 'validation_failed');
    expectError(await post(key, BATCH, []), 400, 'validation_failed');
    expect(await listed(orgId)).toEqual([]);
  });
});
