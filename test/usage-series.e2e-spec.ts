import request from 'supertest';
import { DataSource } from 'typeorm';
import { TestApiKey, TestUser } from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';
import {
  createUsageWorkload,
  DAY,
  HOUR,
  METERS,
  MeterSlug,
  SEED,
  Truth,
  truthValue,
} from './support/usage-workload';

describe(`usage reports (seed ${SEED})`, () => {
  const e2e = setupTestContext();
  let owner: TestUser, member: TestUser, keyA: TestApiKey, keyB: TestApiKey;
  let orgId: string, truths: Truth[], from: string, to: string, markerTime: Date;

  beforeAll(async () => {
    ({ owner, member, orgId, keyA, keyB, truths, from, to, markerTime } = await createUsageWorkload(
      e2e.app,
    ));
  });

  const db = () => e2e.app.get(DataSource);
  const usage = (query: Record<string, string>, user = owner) =>
    api(e2e.app, asUser(user)).get(`/orgs/${orgId}/usage`).query(query);
  const totalOf = (meter: MeterSlug) =>
    truths.filter((t) => t.meter === meter).reduce((n, t) => n + truthValue(t), 0);

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

    /** A valid query: each case breaks one thing of it. */
    const january = { meter: 'api_calls', from: '2026-01-01', to: '2026-02-01' };
    const invalid = 'validation_failed';
    it.each<[string, Record<string, string>, string]>([
      ['no meter', { from: '2026-01-01', to: '2026-02-01' }, invalid],
      ['a bad meter slug', { ...january, meter: 'Bad-Slug' }, invalid],
      ['an unknown meter', { ...january, meter: 'no_such' }, 'unknown_meter'],
      ['no from', { meter: 'api_calls', to: '2026-02-01' }, invalid],
      ['no to', { meter: 'api_calls', from: '2026-02-01' }, invalid],
      ['a from without a zone', { ...january, from: '2026-01-01T00:00:00' }, invalid],
      ['an impossible date', { ...january, from: '2026-02-30', to: '2026-03-01' }, invalid],
      ['to before from', { ...january, from: '2026-02-01', to: '2026-01-01' }, invalid],
      ['to equal to from', { ...january, from: '2026-02-01', to: '2026-02-01' }, invalid],
      ['more than a year', { ...january, from: '2025-01-01', to: '2026-01-01T00:00:01Z' }, invalid],
      ['a bad window', { ...january, window: 'week' }, invalid],
      ['a groupBy the meter lacks', { ...january, groupBy: 'region' }, invalid],
      ['an unknown parameter', { ...january, limit: '5' }, invalid],
    ])('refuses %s (400)', async (_, query, code) => {
      const res = await usage(query).expect(400);
      expect(res.body.code).toBe(code);
    });

    it('accepts exactly one year', async () => {
      await usage({ meter: 'api_calls', from: '2025-01-01', to: '2026-01-01' }).expect(200);
    });
  });
});
