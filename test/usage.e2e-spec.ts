import { get, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  ApiKeyScope,
  createApiKey,
  createMeter,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUsers,
  sendEvents,
  TestApiKey,
  TestUser,
} from './support/factories';
import { api, asUser, withKey } from './support/http';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/** Keys of the workload: no rate limit in the way. */
const FAST = { limit: 100_000, periodSeconds: 1 };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A seeded PRNG (mulberry32): a failing run can be replayed with USAGE_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SEED = Number(process.env.USAGE_SEED ?? Date.now() % 1_000_000);

/** RFC 4180 records (CRLF or LF line ends, quoted fields with doubled quotes). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      // the \n ends the record
    } else if (c === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length) records.push([...record, field]);
  return records;
}

/** The meters of the workload: every aggregation, two of them with a group-by key. */
const METERS = [
  { slug: 'api_calls', aggregation: 'count' }, // seeded by the first migration
  { slug: 'u_sum', aggregation: 'sum', valueProperty: 'v' },
  { slug: 'u_min', aggregation: 'min', valueProperty: 'v' },
  { slug: 'u_max', aggregation: 'max', valueProperty: 'v' },
  { slug: 'u_avg', aggregation: 'avg', valueProperty: 'v' },
  { slug: 'u_latest', aggregation: 'latest', valueProperty: 'v' },
  { slug: 'u_unique', aggregation: 'unique_count', valueProperty: 'user', groupBy: ['region'] },
  { slug: 'u_region', aggregation: 'sum', valueProperty: 'v', groupBy: ['region'] },
] as const;
type MeterSlug = (typeof METERS)[number]['slug'];
const AGGREGATION = Object.fromEntries(METERS.map((m) => [m.slug, m.aggregation])) as Record<
  MeterSlug,
  string
>;

const SUBJECTS = ['alice', 'bob', 'acme, "inc"', undefined];
const REGIONS: unknown[] = ['eu', 'us', 7, undefined, { nested: true }];

/** Per meter and period (YYYY-MM), every aggregate computed straight from raw events. */
interface Truth {
  meter: MeterSlug;
  period: string;
  count: number;
  sum: string;
  min: number | null;
  max: number | null;
  avg: string | null;
  latest: number | null;
  uniq: number;
}

function truthValue(t: Truth): number {
  switch (AGGREGATION[t.meter]) {
    case 'count':
      return t.count;
    case 'sum':
      return Number(t.sum);
    case 'min':
      return t.min!;
    case 'max':
      return t.max!;
    case 'avg':
      return Number(t.avg);
    case 'latest':
      return t.latest!;
    default:
      return t.uniq;
  }
}

describe(`usage reports (seed ${SEED})`, () => {
  const e2e = setupTestContext();
  let admin: TestUser;
  let owner: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  let orgId: string;
  let keyA: TestApiKey;
  let keyB: TestApiKey;
  let readKey: string;
  let writeOnlyKey: string;
  let truths: Truth[];
  /** A range holding every event of the workload (all within the last 30 days). */
  let from: string;
  let to: string;
  /** An event at a known time, for the hour-rounding case. */
  let markerTime: Date;

  const db = () => e2e.app.get(DataSource);

  const usage = (query: Record<string, string>, user = owner) =>
    api(e2e.app, asUser(user)).get(`/orgs/${orgId}/usage`).query(query);

  const summary = (period?: string, org = orgId) =>
    api(e2e.app, asUser(owner))
      .get(`/orgs/${org}/usage/summary`)
      .query(period ? { period } : {})
      .expect(200);

  beforeAll(async () => {
    admin = await createPlatformAdmin(e2e.app);
    [owner, member, outsider] = await createUsers(e2e.app, 3);
    for (const meter of METERS.slice(1)) await createMeter(e2e.app, admin, meter);
    // On the free plan: api_calls, 1000 included, hard.
    orgId = await createOrg(e2e.app, owner, { members: [[member, 'member']] });
    const keyOf = (...scopes: ApiKeyScope[]) =>
      createApiKey(e2e.app, owner, orgId, { name: scopes.join(' '), scopes, rateLimit: FAST });
    [keyA, keyB] = [await keyOf('events:write'), await keyOf('events:write')];
    readKey = (await keyOf('usage:read')).key;
    writeOnlyKey = (await keyOf('events:write', 'verify')).key;

    // A random mixed workload over the last 30 days (one or two calendar months), with
    // repeated ids (some with another body) that must count once.
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const now = Date.now();
    const usedTimes = new Set<number>();
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < 360; i++) {
      const meter = pick(METERS);
      let time = now - 2 * 60_000 - Math.floor(random() * 30 * DAY);
      // `latest` needs distinct times to have one right answer.
      while (usedTimes.has(time)) time--;
      usedTimes.add(time);
      const data: Record<string, unknown> = {
        v: Math.round(random() * 12_000 - 2_000) / 100,
        user: random() < 0.2 ? Math.floor(random() * 3) : `u${Math.floor(random() * 8)}`,
      };
      const region = pick(REGIONS);
      if (region !== undefined) data.region = region;
      const subject = pick(SUBJECTS);
      const event = { id: `ev-${i}`, type: meter.slug, time: new Date(time).toISOString(), data };
      events.push(subject === undefined ? event : { ...event, subject });
      if (random() < 0.1 && events.length > 1) {
        const again = pick(events);
        events.push({ ...again, data: { ...(again.data as object), v: 9999 } });
      }
    }
    markerTime = new Date(Math.floor((now - 3 * DAY) / HOUR) * HOUR + 10 * 60_000);
    events.push({
      id: 'marker',
      type: 'u_sum',
      time: markerTime.toISOString(),
      data: { v: 1000 },
    });
    for (let i = 0; i < events.length; i += 40) {
      await sendEvents(e2e.app, random() < 0.5 ? keyA.key : keyB.key, events.slice(i, i + 40));
    }

    truths = (
      await db().query(
        `SELECT meter, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM') AS period,
                count(*)::int AS count, sum(value::numeric)::text AS sum, min(value) AS min,
                max(value) AS max, (sum(value::numeric) / count(*))::text AS avg,
                (array_agg(value ORDER BY time DESC))[1] AS latest,
                count(DISTINCT data ->> 'user')::int AS uniq
           FROM usage_events WHERE org_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
        [orgId],
      )
    ).map((t: Truth) => ({ ...t, sum: t.sum ?? '0' }));
    from = new Date(now - 31 * DAY).toISOString();
    to = new Date(now + HOUR).toISOString();
  });

  const periods = () => [...new Set(truths.map((t) => t.period))].sort();
  const truthOf = (meter: string, period: string) =>
    truths.find((t) => t.meter === meter && t.period === period);
  const totalOf = (meter: MeterSlug) =>
    truths.filter((t) => t.meter === meter).reduce((n, t) => n + truthValue(t), 0);

  it('stored a workload that spans every meter', async () => {
    expect(new Set(truths.map((t) => t.meter))).toEqual(new Set(METERS.map((m) => m.slug)));
    const [{ n }] = await db().query(
      `SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1`,
      [orgId],
    );
    expect(n).toBeGreaterThan(300);
  });

  describe('GET /orgs/:orgId/usage/summary', () => {
    it('equals the aggregation of the raw events, for every meter and period', async () => {
      for (const period of periods()) {
        const res = await summary(period);
        expect(res.body.period).toBe(period);
        const used = truths.filter((t) => t.period === period);
        for (const truth of used) {
          const line = res.body.data.find((l: { meter: string }) => l.meter === truth.meter);
          expect(line).toBeDefined();
          if (AGGREGATION[truth.meter] === 'avg')
            expect(line.value).toBeCloseTo(truthValue(truth), 9);
          else
            expect({ meter: truth.meter, value: line.value }).toEqual({
              meter: truth.meter,
              value: truthValue(truth),
            });
        }
        // Nothing else than the plan's meters and the meters used in the period.
        const expected = new Set(['api_calls', ...used.map((t) => t.meter)]);
        expect(new Set(res.body.data.map((l: { meter: string }) => l.meter))).toEqual(expected);
        expect(res.body.data).toHaveLength(expected.size);
      }
    });

    it("shows the plan's quota on its meters (free: api_calls, 1000, hard) and nulls on the others", async () => {
      for (const period of periods()) {
        const res = await summary(period);
        const [first, ...others] = res.body.data;
        const used = truthOf('api_calls', period)?.count ?? 0;
        expect(first).toEqual({
          meter: 'api_calls',
          value: used,
          included: 1000,
          remaining: 1000 - used,
          percentUsed: Math.round(used * 10) / 100,
          enforcement: 'hard',
        });
        for (const line of others) {
          expect(line).toMatchObject({
            included: null,
            remaining: null,
            percentUsed: null,
            enforcement: null,
          });
        }
        const slugs = others.map((l: { meter: string }) => l.meter);
        expect(slugs).toEqual([...slugs].sort());
      }
    });

    it('defaults to the current UTC month, and answers an unused month with the plan meters at 0', async () => {
      const current = new Date().toISOString().slice(0, 7);
      const res = await summary();
      expect(res.body.period).toBe(current);
      expect(res.body).toEqual((await summary(current)).body);
      const empty = await summary('2001-01');
      expect(empty.body).toEqual({
        period: '2001-01',
        data: [
          {
            meter: 'api_calls',
            value: 0,
            included: 1000,
            remaining: 1000,
            percentUsed: 0,
            enforcement: 'hard',
          },
        ],
      });
    });

    it('reports a planned meter with 0 included as percentUsed null, and an unused planned meter as 0', async () => {
      await createPlan(e2e.app, admin, {
        code: 'payg',
        name: 'Pay as you go',
        meters: [
          { meter: 'u_sum', included: 0, enforcement: 'soft' },
          { meter: 'u_max', included: 50, enforcement: 'soft' },
        ],
      });
      const org = await createOrg(e2e.app, owner, { name: 'Payg', plan: 'payg' });
      const key = await createApiKey(e2e.app, owner, org, {
        scopes: ['events:write'],
        rateLimit: FAST,
      });
      await sendEvents(e2e.app, key.key, [
        { id: 'a', type: 'u_sum', data: { v: 2.5 } },
        { id: 'b', type: 'u_sum', data: { v: 4 } },
        { id: 'c', type: 'api_calls' },
      ]);
      const res = await summary(undefined, org);
      expect(res.body.data).toEqual([
        {
          meter: 'u_sum',
          value: 6.5,
          included: 0,
          remaining: 0,
          percentUsed: null,
          enforcement: 'soft',
        },
        {
          meter: 'u_max',
          value: 0,
          included: 50,
          remaining: 50,
          percentUsed: 0,
          enforcement: 'soft',
        },
        {
          meter: 'api_calls',
          value: 1,
          included: null,
          remaining: null,
          percentUsed: null,
          enforcement: null,
        },
      ]);
    });

    it.each(['2026-13', '2026-1', '26-05', '2026-05-01', 'now', '1969-12'])(
      'refuses period=%s (400)',
      async (period) => {
        const res = await api(e2e.app, asUser(owner))
          .get(`/orgs/${orgId}/usage/summary`)
          .query({ period })
          .expect(400);
        expect(res.body.code).toBe('validation_failed');
      },
    );
  });

  describe('GET /v1/usage/summary', () => {
    it('answers a usage:read key with the same summary as the org route, and takes a rate-limit unit', async () => {
      for (const period of [...periods(), undefined]) {
        const res = await api(e2e.app, withKey(readKey))
          .get('/v1/usage/summary')
          .query(period ? { period } : {})
          .expect(200);
        expect(res.headers['ratelimit-limit']).toBe('100000');
        expect(res.body).toEqual((await summary(period)).body);
      }
    });

    it('refuses a key without usage:read (403 insufficient_scope), no key (401) and a bad period (400)', async () => {
      const forbidden = await api(e2e.app, withKey(writeOnlyKey))
        .get('/v1/usage/summary')
        .expect(403);
      expect(forbidden.body.code).toBe('insufficient_scope');
      await api(e2e.app).get('/v1/usage/summary').expect(401);
      await api(e2e.app, asUser(owner)).get('/v1/usage/summary').expect(401);
      const bad = await api(e2e.app, withKey(readKey))
        .get('/v1/usage/summary')
        .query({ period: '2026-5' })
        .expect(400);
      expect(bad.body.code).toBe('validation_failed');
    });
  });

  describe('GET /orgs/:orgId/usage', () => {
    it('gives every meter per month the same value as the summary (any aggregation)', async () => {
      for (const { slug } of METERS) {
        const res = await usage({ meter: slug, from, to, window: 'month' }).expect(200);
        expect(res.body.meter).toBe(slug);
        expect(res.body.window).toBe('month');
        const got = res.body.data.map((w: { windowStart: string; value: number }) => ({
          period: w.windowStart.slice(0, 7),
          value: w.value,
        }));
        const expected = truths
          .filter((t) => t.meter === slug)
          .map((t) => ({ period: t.period, value: truthValue(t) }));
        expect(got.map((g: { period: string }) => g.period)).toEqual(expected.map((e) => e.period));
        got.forEach((g: { value: number }, i: number) =>
          expect(g.value).toBeCloseTo(expected[i].value, 9),
        );
      }
    });

    it.each(['hour', 'day', 'month'])(
      'sums %s windows back to the totals of count and sum meters, in order and within the range',
      async (window) => {
        for (const slug of ['api_calls', 'u_sum', 'u_region'] as const) {
          const res = await usage({ meter: slug, from, to, window }).expect(200);
          const data: { windowStart: string; windowEnd: string; value: number }[] = res.body.data;
          const total = data.reduce((n, w) => n + w.value, 0);
          if (slug === 'api_calls') expect(total).toBe(totalOf(slug));
          else expect(total).toBeCloseTo(totalOf(slug), 6);
          const rangeFrom = Math.floor(Date.parse(from) / HOUR) * HOUR;
          const rangeTo = Math.ceil(Date.parse(to) / HOUR) * HOUR;
          const aligned = {
            hour: /:00:00\.000Z$/,
            day: /T00:00:00\.000Z$/,
            month: /-01T00:00:00\.000Z$/,
          }[window]!;
          data.forEach((w, i) => {
            const start = Date.parse(w.windowStart);
            const end = Date.parse(w.windowEnd);
            expect(end).toBeGreaterThan(start);
            expect(start).toBeGreaterThanOrEqual(rangeFrom);
            expect(end).toBeLessThanOrEqual(rangeTo);
            // Only the first window may be clipped at its start.
            if (i > 0) {
              expect(start).toBeGreaterThanOrEqual(Date.parse(data[i - 1].windowEnd));
              expect(w.windowStart).toMatch(aligned);
            }
            if (window === 'hour') expect(end - start).toBe(HOUR);
            if (window === 'day') expect(end - start).toBeLessThanOrEqual(DAY);
          });
        }
      },
    );

    it('keeps min and max across day windows equal to the raw extremes', async () => {
      const min = await usage({ meter: 'u_min', from, to, window: 'day' }).expect(200);
      const max = await usage({ meter: 'u_max', from, to, window: 'day' }).expect(200);
      const values = (res: request.Response) =>
        res.body.data.map((w: { value: number }) => w.value);
      expect(Math.min(...values(min))).toBe(
        Math.min(...truths.filter((t) => t.meter === 'u_min').map((t) => t.min!)),
      );
      expect(Math.max(...values(max))).toBe(
        Math.max(...truths.filter((t) => t.meter === 'u_max').map((t) => t.max!)),
      );
    });

    /** `{"<period>|<group>": value}` of a grouped monthly query. */
    async function grouped(meter: string, groupBy: string): Promise<Record<string, number>> {
      const res = await usage({ meter, from, to, window: 'month', groupBy }).expect(200);
      const out: Record<string, number> = {};
      for (const w of res.body.data) {
        expect(Object.keys(w.groupBy)).toEqual([groupBy]);
        out[`${w.windowStart.slice(0, 7)}|${w.groupBy[groupBy]}`] = w.value;
      }
      return out;
    }

    async function truthGrouped(valueSql: string, meter: string, groupSql: string) {
      const rows: { period: string; grp: string | null; value: string }[] = await db().query(
        `SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM') AS period, ${groupSql} AS grp,
                (${valueSql})::text AS value
           FROM usage_events WHERE org_id = $1 AND meter = $2 GROUP BY 1, 2`,
        [orgId, meter],
      );
      return Object.fromEntries(rows.map((r) => [`${r.period}|${r.grp}`, Number(r.value)]));
    }

    it('splits by API key', async () => {
      const got = await grouped('api_calls', 'apiKeyId');
      expect(got).toEqual(await truthGrouped('count(*)', 'api_calls', 'api_key_id::text'));
      const keys = new Set(Object.keys(got).map((k) => k.split('|')[1]));
      expect([...keys].every((k) => k === keyA.id || k === keyB.id)).toBe(true);
      expect(await grouped('u_sum', 'apiKeyId')).toEqual(
        await truthGrouped('sum(value::numeric)', 'u_sum', 'api_key_id::text'),
      );
    });

    it('splits by subject (null for events without one)', async () => {
      const got = await grouped('u_sum', 'subject');
      expect(got).toEqual(await truthGrouped('sum(value::numeric)', 'u_sum', 'subject'));
      expect(Object.keys(got).some((k) => k.endsWith('|acme, "inc"'))).toBe(true);
      expect(Object.keys(got).some((k) => k.endsWith('|null'))).toBe(true);
    });

    it("splits by the meter's group-by key, for rollup and unique_count meters alike", async () => {
      const region = `CASE WHEN jsonb_typeof(data -> 'region') IN ('string', 'number')
                           THEN data ->> 'region' END`;
      const sums = await grouped('u_region', 'region');
      expect(sums).toEqual(await truthGrouped('sum(value::numeric)', 'u_region', region));
      expect(Object.keys(sums).some((k) => k.endsWith('|7'))).toBe(true);
      expect(await grouped('u_unique', 'region')).toEqual(
        await truthGrouped(`count(DISTINCT data ->> 'user')`, 'u_unique', region),
      );
    });

    it('widens from/to to whole hours (the rollups are hourly)', async () => {
      const hour = new Date(Math.floor(markerTime.getTime() / HOUR) * HOUR);
      const res = await usage({
        meter: 'u_sum',
        from: new Date(hour.getTime() + 20 * 60_000).toISOString(),
        to: new Date(hour.getTime() + 40 * 60_000).toISOString(),
        window: 'hour',
      }).expect(200);
      const [{ sum }] = await db().query(
        `SELECT sum(value::numeric)::text AS sum FROM usage_events
          WHERE org_id = $1 AND meter = 'u_sum' AND time >= $2 AND time < $3`,
        [orgId, hour.toISOString(), new Date(hour.getTime() + HOUR).toISOString()],
      );
      expect(res.body.data).toEqual([
        {
          windowStart: hour.toISOString(),
          windowEnd: new Date(hour.getTime() + HOUR).toISOString(),
          value: Number(sum),
        },
      ]);
      expect(Number(sum)).toBeGreaterThanOrEqual(1000);
    });

    it('answers an empty range with no windows, and a member may read it', async () => {
      const res = await usage(
        { meter: 'api_calls', from: '2001-01-01', to: '2001-02-01', window: 'day' },
        member,
      ).expect(200);
      expect(res.body).toEqual({ meter: 'api_calls', window: 'day', data: [] });
      const def = await usage({ meter: 'api_calls', from, to }).expect(200);
      expect(def.body.window).toBe('day');
    });

    it.each<[string, Record<string, string>, string]>([
      ['no meter', { from: '2026-01-01', to: '2026-02-01' }, 'validation_failed'],
      [
        'a bad meter slug',
        { meter: 'Bad-Slug', from: '2026-01-01', to: '2026-02-01' },
        'validation_failed',
      ],
      [
        'an unknown meter',
        { meter: 'no_such', from: '2026-01-01', to: '2026-02-01' },
        'unknown_meter',
      ],
      ['no from', { meter: 'api_calls', to: '2026-02-01' }, 'validation_failed'],
      ['no to', { meter: 'api_calls', from: '2026-02-01' }, 'validation_failed'],
      [
        'a from without a zone',
        { meter: 'api_calls', from: '2026-01-01T00:00:00', to: '2026-02-01' },
        'validation_failed',
      ],
      [
        'an impossible date',
        { meter: 'api_calls', from: '2026-02-30', to: '2026-03-01' },
        'validation_failed',
      ],
      [
        'to before from',
        { meter: 'api_calls', from: '2026-02-01', to: '2026-01-01' },
        'validation_failed',
      ],
      [
        'to equal to from',
        { meter: 'api_calls', from: '2026-02-01', to: '2026-02-01' },
        'validation_failed',
      ],
      [
        'more than a year',
        { meter: 'api_calls', from: '2025-01-01', to: '2026-01-01T00:00:01Z' },
        'validation_failed',
      ],
      [
        'a bad window',
        { meter: 'api_calls', from: '2026-01-01', to: '2026-02-01', window: 'week' },
        'validation_failed',
      ],
      [
        'a groupBy the meter lacks',
        { meter: 'api_calls', from: '2026-01-01', to: '2026-02-01', groupBy: 'region' },
        'validation_failed',
      ],
      [
        'an unknown parameter',
        { meter: 'api_calls', from: '2026-01-01', to: '2026-02-01', limit: '5' },
        'validation_failed',
      ],
    ])('refuses %s (400)', async (_, query, code) => {
      const res = await usage(query).expect(400);
      expect(res.body.code).toBe(code);
    });

    it('accepts exactly one year', async () => {
      await usage({ meter: 'api_calls', from: '2025-01-01', to: '2026-01-01' }).expect(200);
    });
  });

  describe('GET /orgs/:orgId/usage/export', () => {
    it('streams every event in range as RFC 4180 CSV, ordered by time, with a header row', async () => {
      const res = await api(e2e.app, asUser(member))
        .get(`/orgs/${orgId}/usage/export`)
        .query({ from, to })
        .buffer(true)
        .parse((response, done) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => done(null, text));
        })
        .expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const fromC = new Date(from)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      const toC = new Date(to)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      expect(res.headers['content-disposition']).toBe(
        `attachment; filename="usage-${orgId}-${fromC}-${toC}.csv"`,
      );
      const text = res.body as string;
      expect(text.startsWith('id,type,time,subject,apiKeyId,value,data,receivedAt\r\n')).toBe(true);
      expect(text).toContain(',"acme, ""inc""",');

      const [header, ...rows] = parseCsv(text);
      expect(header).toEqual([
        'id',
        'type',
        'time',
        'subject',
        'apiKeyId',
        'value',
        'data',
        'receivedAt',
      ]);
      const stored: {
        id: string;
        type: string;
        time: Date;
        subject: string | null;
        apiKeyId: string;
        value: number | null;
        data: Record<string, unknown>;
        receivedAt: Date;
      }[] = await db().query(
        `SELECT event_id AS id, meter AS type, time, subject, api_key_id AS "apiKeyId", value,
                data, received_at AS "receivedAt"
           FROM usage_events WHERE org_id = $1 ORDER BY time, event_id`,
        [orgId],
      );
      expect(rows).toHaveLength(stored.length);
      rows.forEach((row, i) => {
        const e = stored[i];
        expect(row).toEqual([
          e.id,
          e.type,
          e.time.toISOString(),
          e.subject ?? '',
          e.apiKeyId,
          e.value === null ? '' : String(e.value),
          JSON.stringify(e.data),
          e.receivedAt.toISOString(),
        ]);
      });
      expect(rows.some((r) => r[3] === 'acme, "inc"')).toBe(true);
    });

    it('keeps to the range, exactly', async () => {
      const res = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/export`)
        .query({
          from: markerTime.toISOString(),
          to: new Date(markerTime.getTime() + 1).toISOString(),
        })
        .expect(200);
      const [, ...rows] = parseCsv(res.text);
      expect(rows.map((r) => r[0])).toContain('marker');
      expect(rows.every((r) => r[2] === markerTime.toISOString())).toBe(true);
      const empty = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/export`)
        .query({ from: '2001-01-01', to: '2001-02-01' })
        .expect(200);
      expect(empty.text).toBe('id,type,time,subject,apiKeyId,value,data,receivedAt\r\n');
    });

    it.each<[string, Record<string, string>]>([
      ['no to', { from: '2026-01-01' }],
      ['to before from', { from: '2026-02-01', to: '2026-01-01' }],
      ['more than a year', { from: '2024-01-01', to: '2025-06-01' }],
      ['a bad date', { from: 'yesterday', to: '2026-01-01' }],
    ])('refuses %s (400)', async (_, query) => {
      const res = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/export`)
        .query(query)
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
    });

    it('frees its cursor and connection when the client goes away mid-stream', async () => {
      // An org of its own with enough rows for many cursor batches (written straight to the
      // table: only the export reads them).
      const org = await createOrg(e2e.app, owner, { name: 'Bulk' });
      await db().query(
        `INSERT INTO usage_events (org_id, event_id, meter, time, data)
         SELECT $1, 'bulk-' || g, 'api_calls', now() - interval '1 day' + g * interval '1 ms',
                jsonb_build_object('pad', repeat('x', 200))
           FROM generate_series(1, 20000) AS g`,
        [org],
      );
      const server: Server = e2e.app.getHttpServer();
      if (!server.listening)
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const url = `http://127.0.0.1:${port}/orgs/${org}/usage/export?from=${from}&to=${to}`;
      await new Promise<void>((resolve, reject) => {
        const req = get(url, { headers: asUser(owner) }, (response) => {
          expect(response.statusCode).toBe(200);
          response.once('data', () => {
            // Stop reading (the server fills the socket and waits), then hang up.
            response.pause();
            setTimeout(() => {
              req.destroy();
              resolve();
            }, 100);
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) =>
          error.code === 'ECONNRESET' ? undefined : reject(error),
        );
      });
      // No transaction is left open (on embedded PGlite one would also block every query).
      await eventually(
        async () => {
          const [{ open }] = await db().query(
            `SELECT count(*)::int AS open FROM pg_stat_activity
              WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
          );
          expect(open).toBe(0);
        },
        { timeoutMs: 2500 },
      );
      await summary(undefined, org);
    });
  });

  describe('tenancy', () => {
    it.each([
      ['/usage', { meter: 'api_calls', from: '2026-01-01', to: '2026-02-01' }],
      ['/usage/summary', {}],
      ['/usage/export', { from: '2026-01-01', to: '2026-02-01' }],
    ])('hides %s of an org from outsiders (404)', async (path, query) => {
      const res = await api(e2e.app, asUser(outsider))
        .get(`/orgs/${orgId}${path}`)
        .query(query)
        .expect(404);
      expect(res.body.code).toBe('org_not_found');
      await api(e2e.app).get(`/orgs/${orgId}${path}`).query(query).expect(401);
    });
  });
});
