/**
 * B4: `GET /orgs/:orgId/usage/summary` over a month of `summaryEvents` events in count, sum and
 * unique_count meters, against the plain aggregate SQL a naive implementation would run over the
 * raw events. Both answer the same three numbers, so the run also checks they agree (the
 * contract's "reports never disagree with the stored events").
 */
import { BenchContext } from '../context';
import { noteProblem } from '../load';
import { call } from '../setup';
import { SUMMARY_METERS, UNIQUE_PROPERTY } from '../setup';
import { median, percentile, since } from '../stats';
import { SeedResult, seedSummaryMonth } from '../summary-seed';

type Kind = keyof typeof SUMMARY_METERS;

/** One query per meter, over the month's partition, as the events table can answer it. */
const PLAIN_SQL: Record<Kind, string> = {
  count: `SELECT count(*) AS v FROM usage_events
           WHERE org_id = $1 AND meter = $2 AND time >= $3 AND time < $4`,
  sum: `SELECT sum(value) AS v FROM usage_events
         WHERE org_id = $1 AND meter = $2 AND time >= $3 AND time < $4`,
  unique: `SELECT count(DISTINCT data ->> '${UNIQUE_PROPERTY}') AS v FROM usage_events
            WHERE org_id = $1 AND meter = $2 AND time >= $3 AND time < $4`,
};

const KINDS = Object.keys(SUMMARY_METERS) as Kind[];
const SUMMARY_WARMUP_CALLS = 3;
/** Below this many calls a p50 means little, whatever the budget says. */
const MIN_CALLS = 5;

export interface SummaryResult {
  period: string;
  seed: SeedResult;
  calls: number;
  /** The summary's calls were cut short by the time budget (each took long). */
  budgetHit: boolean;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  sqlRuns: number;
  /** p50 of each plain query, and their sum: what the summary replaces. */
  sqlP50Ms: Record<Kind, number> & { total: number };
  /** sqlP50Ms.total ÷ p50Ms. */
  speedup: number;
  values: { summary: Record<Kind, number>; sql: Record<Kind, number> };
}

export async function runSummary(ctx: BenchContext): Promise<SummaryResult> {
  const { options, setup, server, progress } = ctx;
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  // Named, not defaulted: a run across midnight at the month's end still reads the seeded month.
  const period = from.toISOString().slice(0, 7);

  progress.step(`B4 seeding ${options.summaryEvents.toLocaleString('en')} events by SQL`);
  const seed = await seedSummaryMonth(server.databaseUrl, {
    orgId: setup.summaryOrgId,
    apiKeyId: setup.summaryKeyId,
    events: options.summaryEvents,
    users: options.summaryUsers,
    from,
    until: now,
  });

  progress.step('B4 GET /usage/summary');
  const path = `/orgs/${setup.summaryOrgId}/usage/summary?period=${period}`;
  const summary = () =>
    call<{ data: { meter: string; value: number }[] }>(server.url, 'GET', path, {
      token: setup.token,
    });
  // Warm-up calls come out of the same budget: at a few seconds a call (unique_count over raw
  // events, today) three of them would cost more than the measured ones.
  const warming = performance.now();
  let answer = await summary();
  for (let i = 1; i < SUMMARY_WARMUP_CALLS; i++) {
    if (since(warming) > (options.summaryBudgetSeconds * 1000) / 4) break;
    answer = await summary();
  }
  const times: number[] = [];
  const started = performance.now();
  let budgetHit = false;
  while (times.length < options.summaryCalls) {
    if (times.length >= MIN_CALLS && since(started) > options.summaryBudgetSeconds * 1000) {
      budgetHit = true;
      break;
    }
    const t = performance.now();
    answer = await summary();
    times.push(since(t));
  }

  progress.step('B4 plain aggregate SQL');
  const sqlTimes: Record<Kind, number[]> = { count: [], sum: [], unique: [] };
  const sqlValues = {} as Record<Kind, number>;
  // The first pass warms the cache and is not counted; kinds alternate within each pass.
  for (let run = 0; run <= options.sqlRuns; run++) {
    for (const kind of KINDS) {
      const t = performance.now();
      const { rows } = await ctx.db.query<{ v: string | null }>(PLAIN_SQL[kind], [
        setup.summaryOrgId,
        SUMMARY_METERS[kind],
        from.toISOString(),
        to.toISOString(),
      ]);
      if (run > 0) sqlTimes[kind].push(since(t));
      sqlValues[kind] = Number(rows[0].v ?? 0);
    }
  }

  const line = (meter: string) => answer.data.find((l) => l.meter === meter)?.value ?? NaN;
  const summaryValues = Object.fromEntries(
    KINDS.map((kind) => [kind, line(SUMMARY_METERS[kind])]),
  ) as Record<Kind, number>;
  for (const kind of KINDS)
    if (summaryValues[kind] !== sqlValues[kind])
      noteProblem(
        `B4: summary says ${SUMMARY_METERS[kind]} = ${summaryValues[kind]}, the events say ${sqlValues[kind]}`,
      );

  const sqlP50 = Object.fromEntries(KINDS.map((k) => [k, median(sqlTimes[k])])) as Record<
    Kind,
    number
  >;
  const total = KINDS.reduce((sum, k) => sum + sqlP50[k], 0);
  const p50Ms = median(times);
  return {
    period,
    seed,
    calls: times.length,
    budgetHit,
    p50Ms,
    p90Ms: percentile(times, 90),
    maxMs: percentile(times, 100),
    sqlRuns: options.sqlRuns,
    sqlP50Ms: { ...sqlP50, total },
    speedup: total / p50Ms,
    values: { summary: summaryValues, sql: sqlValues },
  };
}
