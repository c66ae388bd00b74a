import { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { expectError, withoutRequestId } from './support/assertions';
import { parseCsv } from './support/csv';
import {
  createMeter,
  createOrgWithKey,
  createPlan,
  createPlatformAdmin,
  createUser,
  sendEvents,
  TestUser,
} from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';
import { HOUR } from './support/usage-workload';

/** Text a spreadsheet would run as a formula (OWASP's list of first characters). */
const FORMULAS = ['=HYPERLINK("x")', '+1+1', '-2+3', '@SUM(A1)', '\tTAB', '\rCR'];

describe('report bounds and the events listing (§9)', () => {
  const e2e = setupTestContext();
  let owner: TestUser;
  let outsider: TestUser;

  const db = () => e2e.app.get(DataSource);
  const as = (user: TestUser) => api(e2e.app, asUser(user));
  /** A fresh org of the owner on the roomy plan, with a key. */
  const orgWithKey = () => createOrgWithKey(e2e.app, owner, { plan: 'roomy' });
  /** `events` sent in batches of 1000. */
  async function ingest(key: string, events: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < events.length; i += 1000)
      await sendEvents(e2e.app, key, events.slice(i, i + 1000));
  }

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    outsider = await createUser(e2e.app);
    await createMeter(e2e.app, admin, { slug: 'r_sum', aggregation: 'sum', valueProperty: 'v' });
    await createMeter(e2e.app, admin, { slug: 'r_max', aggregation: 'max', valueProperty: 'v' });
    await createMeter(e2e.app, admin, {
      slug: 'r_users',
      aggregation: 'unique_count',
      valueProperty: 'user',
    });
    await createPlan(e2e.app, admin, {
      code: 'roomy',
      meters: [{ meter: 'api_calls', included: 1_000_000, enforcement: 'soft' }],
    });
  });

  describe('GET /orgs/:orgId/usage: at most 10,000 rows', () => {
    const SUBJECTS = 13;
    const HOURS = 800;
    let orgId: string;
    let from: string;
    let to: string;
    const usage = (query: Record<string, string>) =>
      as(owner)
        .get(`/orgs/${orgId}/usage`)
        .query({ meter: 'api_calls', from, to, ...query });

    beforeAll(async () => {
      let key: string;
      ({ orgId, key } = await orgWithKey());
      // One event per subject and hour over the last 800 hours: 10,400 hourly groups.
      const now = Math.floor(Date.now() / HOUR) * HOUR;
      const events = Array.from({ length: SUBJECTS * HOURS }, (_, i) => ({
        id: `e${i}`,
        type: 'api_calls',
        subject: `s-${i % SUBJECTS}`,
        time: new Date(now - Math.floor(i / SUBJECTS) * HOUR + 60_000).toISOString(),
      }));
      await ingest(key, events);
      from = new Date(now - HOURS * HOUR).toISOString();
      to = new Date(now + HOUR).toISOString();
    }, 120_000);

    it('answers hour windows × 13 subjects (10,400 rows) with 400 too_many_rows', async () => {
      const res = await usage({ window: 'hour', groupBy: 'subject' });
      expectError(res, 400, 'too_many_rows');
      expect(res.body.message).toMatch(/coarser window or a shorter range/);
    });

    it('answers the same range in day windows, or for one subject, in full', async () => {
      const days = await usage({ window: 'day', groupBy: 'subject' }).expect(200);
      const total = days.body.data.reduce((n: number, row: { value: number }) => n + row.value, 0);
      expect(total).toBe(SUBJECTS * HOURS);
      const one = await usage({ window: 'hour', groupBy: 'subject', subject: 's-3' }).expect(200);
      expect(one.body.data).toHaveLength(HOURS);
      for (const row of one.body.data)
        expect(row).toMatchObject({ value: 1, groupBy: { subject: 's-3' } });
      const hours = await usage({ window: 'hour' }).expect(200);
      expect(hours.body.data).toHaveLength(HOURS);
      expect(hours.body.data.every((row: { value: number }) => row.value === SUBJECTS)).toBe(true);
    });
  });

  it('filters /usage by subject, for rollup and unique_count meters alike', async () => {
    const { orgId, key } = await orgWithKey();
    const events = [
      ['alice', 5, 'u1'],
      ['alice', 7, 'u2'],
      ['alice', 1, 'u1'],
      ['bob', 11, 'u1'],
      ['bob', 2, 'u3'],
      [undefined, 100, 'u4'],
    ] as const;
    // All at one instant: one hour window holds them all, whatever the clock says.
    const time = new Date(Date.now() - 60_000);
    await ingest(
      key,
      events.flatMap(([subject, v, user], i) => [
        { id: `s${i}`, type: 'r_sum', subject, time, data: { v } },
        { id: `u${i}`, type: 'r_users', subject, time, data: { user } },
      ]),
    );
    const range = { from: time.toISOString(), to: new Date(time.getTime() + 1).toISOString() };
    const value = async (meter: string, subject?: string) => {
      const query = { meter, ...range, window: 'hour', ...(subject ? { subject } : {}) };
      const res = await as(owner).get(`/orgs/${orgId}/usage`).query(query).expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(1);
      return res.body.data[0]?.value ?? 0;
    };
    expect(await value('r_sum')).toBe(126);
    expect(await value('r_sum', 'alice')).toBe(13);
    expect(await value('r_sum', 'bob')).toBe(13);
    expect(await value('r_sum', 'nobody')).toBe(0);
    expect(await value('r_users')).toBe(4);
    expect(await value('r_users', 'alice')).toBe(2);
    expect(await value('r_users', 'bob')).toBe(2);
    expect(await value('r_users', 'nobody')).toBe(0);
  });

  describe('GET /orgs/:orgId/events', () => {
    let orgId: string;
    let stored: { id: string; type: string; subject: string | null }[];

    beforeAll(async () => {
      let key: string;
      ({ orgId, key } = await orgWithKey());
      const base = Date.now() - 10 * HOUR;
      // 40 events; groups of four share one time, so pages must break ties by id.
      await ingest(
        key,
        Array.from({ length: 40 }, (_, i) => ({
          id: `ev-${String((i * 7) % 40).padStart(2, '0')}`,
          type: i % 3 === 0 ? 'r_sum' : 'api_calls',
          subject: ['alice', 'bob', undefined][i % 3],
          time: new Date(base + Math.floor(i / 4) * 60_000).toISOString(),
          data: i % 3 === 0 ? { v: i } : { n: i },
        })),
      );
      stored = await db().query(
        `SELECT event_id AS id, meter AS type, subject FROM usage_events
          WHERE org_id = $1 ORDER BY time DESC, event_id DESC`,
        [orgId],
      );
      expect(stored).toHaveLength(40);
    });

    /** Every page of the listing with `query`: the ids in order, and how many pages. */
    async function walk(query: Record<string, string>): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Response = await as(owner)
          .get(`/orgs/${orgId}/events`)
          .query({ ...query, ...(cursor ? { cursor } : {}) })
          .expect(200);
        for (const event of res.body.data) ids.push(event.id);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      return { ids, pages };
    }

    it('lists stored events newest first, {id, type, time, subject, data, apiKeyId, receivedAt}', async () => {
      const res = await as(owner).get(`/orgs/${orgId}/events`).expect(200);
      expect(res.body.data.map((e: { id: string }) => e.id)).toEqual(stored.map((e) => e.id));
      expect(res.body.nextCursor).toBeNull();
      expect(Object.keys(res.body.data[0]).sort()).toEqual(
        ['apiKeyId', 'data', 'id', 'receivedAt', 'subject', 'time', 'type'].sort(),
      );
    });

    it('walks every page with limit and cursor: no duplicate, no gap', async () => {
      const { ids, pages } = await walk({ limit: '7' });
      expect(pages).toBe(6);
      expect(ids).toEqual(stored.map((e) => e.id));
    });

    it('filters by type, subject, from and to, and pages the filtered list alike', async () => {
      const bySubject = await walk({ subject: 'alice', limit: '3' });
      expect(bySubject.ids).toEqual(stored.filter((e) => e.subject === 'alice').map((e) => e.id));
      const byType = await walk({ type: 'r_sum', limit: '4' });
      expect(byType.ids).toEqual(stored.filter((e) => e.type === 'r_sum').map((e) => e.id));
      const times: { id: string; time: string }[] = (
        await as(owner).get(`/orgs/${orgId}/events?limit=200`).expect(200)
      ).body.data;
      const [from, to] = [times[30].time, times[5].time];
      const range = await walk({ from, to, limit: '5' });
      expect(range.ids).toEqual(
        times.filter((e) => e.time >= from && e.time < to).map((e) => e.id),
      );
      expect(range.ids.length).toBeGreaterThan(0);
    });

    it('answers an outsider 404 exactly as for a missing org, and a bad cursor 400 invalid_cursor', async () => {
      const outside = await api(e2e.app, asUser(outsider)).get(`/orgs/${orgId}/events`);
      const missing = await api(e2e.app, asUser(outsider)).get(
        `/orgs/00000000-0000-4000-8000-000000000000/events`,
      );
      expect(outside.status).toBe(404);
      expect(withoutRequestId(outside)).toEqual(withoutRequestId(missing));
      for (const cursor of ['not-a-cursor', Buffer.from('["x","y"]').toString('base64url')])
        expectError(
          await as(owner).get(`/orgs/${orgId}/events`).query({ cursor }),
          400,
          'invalid_cursor',
        );
      expectError(await as(owner).get(`/orgs/${orgId}/events?limit=201`), 400, 'validation_failed');
    });
  });

  it('writes formula-looking cells of the export with a leading quote, and numbers as they are (§9)', async () => {
    const { orgId, key } = await orgWithKey();
    await ingest(
      key,
      FORMULAS.flatMap((text, i) => [
        { id: text, type: 'api_calls', subject: text, data: { [text]: text } },
        { id: `neg-${i}`, type: 'r_max', subject: 'plain', data: { v: -3 - i } },
      ]),
    );
    const from = new Date(Date.now() - HOUR).toISOString();
    const to = new Date(Date.now() + HOUR).toISOString();
    const res = await as(owner).get(`/orgs/${orgId}/usage/export`).query({ from, to }).expect(200);
    const [header, ...rows] = parseCsv(res.text);
    const column = (name: string) => header.indexOf(name);
    expect(rows).toHaveLength(FORMULAS.length * 2);
    for (const text of FORMULAS) {
      const row = rows.find((r) => r[column('id')] === `'${text}`);
      expect(row).toBeDefined();
      expect(row![column('subject')]).toBe(`'${text}`);
      expect(row![column('data')]).toBe(JSON.stringify({ [text]: text }));
    }
    const values = rows
      .filter((r) => r[column('id')].startsWith('neg-'))
      .map((r) => r[column('value')])
      .sort();
    expect(values).toEqual(FORMULAS.map((_, i) => String(-3 - i)).sort());
    // No cell of the file starts a formula unquoted.
    for (const row of rows)
      for (const cell of row) expect(/^[=+@\t\r]/.test(cell) || /^-(?!\d)/.test(cell)).toBe(false);
  });
});
