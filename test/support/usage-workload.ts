import { INestApplication } from '@nestjs/common';
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
} from './factories';

/**
 * The workload the usage report specs read: a random mix of events of every aggregation over the
 * last 30 days, and what Postgres computes straight from those raw events (the truth to compare
 * each report with). Each usage spec file ingests its own.
 */

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

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

export const SEED = Number(process.env.USAGE_SEED ?? Date.now() % 1_000_000);

/** The meters of the workload: every aggregation, two of them with a group-by key. */
export const METERS = [
  { slug: 'api_calls', aggregation: 'count' }, // seeded by the first migration
  { slug: 'u_sum', aggregation: 'sum', valueProperty: 'v' },
  { slug: 'u_min', aggregation: 'min', valueProperty: 'v' },
  { slug: 'u_max', aggregation: 'max', valueProperty: 'v' },
  { slug: 'u_avg', aggregation: 'avg', valueProperty: 'v' },
  { slug: 'u_latest', aggregation: 'latest', valueProperty: 'v' },
  { slug: 'u_unique', aggregation: 'unique_count', valueProperty: 'user', groupBy: ['region'] },
  { slug: 'u_region', aggregation: 'sum', valueProperty: 'v', groupBy: ['region'] },
] as const;
export type MeterSlug = (typeof METERS)[number]['slug'];
export const AGGREGATION = Object.fromEntries(METERS.map((m) => [m.slug, m.aggregation])) as Record<
  MeterSlug,
  string
>;

const SUBJECTS = ['alice', 'bob', 'acme, "inc"', undefined];
const REGIONS: unknown[] = ['eu', 'us', 7, undefined, { nested: true }];

/** Per meter and period (YYYY-MM), every aggregate computed straight from raw events. */
export interface Truth {
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

export function truthValue(t: Truth): number {
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

export interface UsageWorkload {
  admin: TestUser;
  owner: TestUser;
  /** A member of the org (reads usage, cannot administer it). */
  member: TestUser;
  outsider: TestUser;
  /** On plan `workload`: the free plan's quota (api_calls, 1000 included, hard), no rate limit in the way. */
  orgId: string;
  /** The two keys the events were sent with (events:write). */
  keyA: TestApiKey;
  keyB: TestApiKey;
  /** usage:read only. */
  readKey: string;
  /** events:write and verify, no usage:read. */
  writeOnlyKey: string;
  truths: Truth[];
  /** A range holding every event of the workload (all within the last 30 days). */
  from: string;
  to: string;
  /** An event at a known time, for the hour-rounding case. */
  markerTime: Date;
}

/** The org's plan: the free plan's quota, and a rate limit out of the way of the workload. */
export const WORKLOAD_PLAN = {
  code: 'workload',
  rateLimit: { limit: 100_000, periodSeconds: 1 },
  meters: [{ meter: 'api_calls', included: 1000, enforcement: 'hard' as const }],
};

/** Builds the workload of `SEED` in a fresh org, and reads back its truth. */
export async function createUsageWorkload(app: INestApplication): Promise<UsageWorkload> {
  const admin = await createPlatformAdmin(app);
  const [owner, member, outsider] = await createUsers(app, 3);
  for (const meter of METERS.slice(1)) await createMeter(app, admin, meter);
  await createPlan(app, admin, WORKLOAD_PLAN);
  const orgId = await createOrg(app, owner, { members: [member], plan: WORKLOAD_PLAN.code });
  const keyOf = (...scopes: ApiKeyScope[]) =>
    createApiKey(app, owner, orgId, { name: scopes.join(' '), scopes });
  const [keyA, keyB] = [await keyOf('events:write'), await keyOf('events:write')];
  const readKey = (await keyOf('usage:read')).key;
  const writeOnlyKey = (await keyOf('events:write', 'verify')).key;

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
    // Values from -20 to 100; sum meters take no negative value (400 negative_value).
    const v = Math.round(random() * 12_000 - 2_000) / 100;
    const data: Record<string, unknown> = {
      v: meter.aggregation === 'sum' ? Math.abs(v) : v,
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
  const markerTime = new Date(Math.floor((now - 3 * DAY) / HOUR) * HOUR + 10 * 60_000);
  events.push({
    id: 'marker',
    type: 'u_sum',
    time: markerTime.toISOString(),
    data: { v: 1000 },
  });
  for (let i = 0; i < events.length; i += 40) {
    await sendEvents(app, random() < 0.5 ? keyA.key : keyB.key, events.slice(i, i + 40));
  }

  const truths: Truth[] = (
    await app.get(DataSource).query(
      `SELECT meter, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM') AS period,
                count(*)::int AS count, sum(value::numeric)::text AS sum, min(value) AS min,
                max(value) AS max, (sum(value::numeric) / count(*))::text AS avg,
                (array_agg(value ORDER BY time DESC))[1] AS latest,
                count(DISTINCT data ->> 'user')::int AS uniq
           FROM usage_events WHERE org_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [orgId],
    )
  ).map((t: Truth) => ({ ...t, sum: t.sum ?? '0' }));
  const from = new Date(now - 31 * DAY).toISOString();
  const to = new Date(now + HOUR).toISOString();
  return {
    admin,
    owner,
    member,
    outsider,
    orgId,
    keyA,
    keyB,
    readKey,
    writeOnlyKey,
    truths,
    from,
    to,
    markerTime,
  };
}
