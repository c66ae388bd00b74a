/**
 * What a bench run does and what it is judged against: the targets of the performance issue
 * (B1–B7), the two modes (`--quick` and the full run) and the knobs that override them.
 * Flags win over environment variables, which win over the mode's defaults.
 */
import { join } from 'node:path';

export const TARGETS = {
  /** B1: metered `GET /v1/ping` req/s ÷ `GET /health` req/s. */
  pingRatio: 0.75,
  /** B2: `POST /v1/verify {}` req/s ÷ `GET /health` req/s. */
  verifyRatio: 0.85,
  /** B3: events accepted per second by `POST /v1/events`. */
  eventsPerSecond: 50_000,
  /** B3: the same ingestion ÷ COPY of the same rows into a plain table with a primary key. */
  ingestVsCopy: 0.4,
  /** B4: p50 of `/usage/summary` over count, sum and unique_count meters. */
  summaryP50Ms: 20,
  /** B4: plain aggregate SQL time ÷ summary time. */
  summarySpeedup: 50,
  /** B5: peak RSS (VmHWM) of the server over the whole run. */
  peakRssMb: 256,
  /** B5: "flat": RSS growth from the end of the next-to-last round to the end of the last. */
  rssGrowth: 0.05,
  /** B6: p99 at half the /health maximum, open loop. */
  verifyP99Ms: 5,
  pingP99Ms: 15,
  /** B7: Redis round trips per metered request. */
  redisRoundTrips: 1,
} as const;

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  /** Length of each closed-loop scenario in a round. */
  seconds: number;
  /** Warm-up before each scenario's first round (JIT, caches, connection pools). */
  warmupSeconds: number;
  /** Pause after each scenario, so that requests still in flight do not bleed into the next. */
  settleMs: number;
  connections: number;
  /** B3 is specified with 4 connections: the batches are large, more would only queue. */
  eventConnections: number;
  batchSize: number;
  openLoopSeconds: number;
  /** B7: pings counted against Redis's own statistics. */
  redisPings: number;
  summaryEvents: number;
  summaryUsers: number;
  summaryCalls: number;
  /** Stops the summary timing early when the calls are slow (as they were before B4's fix). */
  summaryBudgetSeconds: number;
  sqlRuns: number;
  strict: boolean;
  skipBuild: boolean;
  databaseUrl: string;
  redisUrl: string;
  logLevel: string;
  nodeOptions?: string;
  resultsDir: string;
}

const USAGE = `Usage: npm run bench [-- options]

  --quick               short rounds and a 500k-event summary seed (under 2 minutes)
  --rounds N            rounds of /health, ping, verify, events and COPY (default 3 quick, 5 full)
  --seconds N           seconds per scenario and round (default 3 quick, 10 full)
  --summary-events N    events seeded for the summary (default 500000 quick, 5000000 full)
  --help                this text

Environment: BENCH_ROUNDS, BENCH_SECONDS, BENCH_SUMMARY_EVENTS, BENCH_CONNECTIONS (50),
BENCH_SKIP_BUILD=1, BENCH_STRICT=1 (exit 1 on a missed target or any 5xx/429/connection error),
BENCH_LOG_LEVEL (the server's LOG_LEVEL, warn), BENCH_NODE_OPTIONS (the server's NODE_OPTIONS),
DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL (redis://127.0.0.1:6379).
`;

export function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

/**
 * `--name value` and `--name=value` for the `valued` flags, `--name` for the `switches`;
 * unknown flags are errors rather than silently ignored.
 */
export function parseFlags(
  argv: string[],
  switches: readonly string[],
  valued: readonly string[],
  usage: string,
): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    if (switches.includes(name)) flags.set(name, 'true');
    else if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`${name} needs a value`);
      flags.set(name, value);
    } else throw new Error(`unknown option ${argv[i]}\n\n${usage}`);
  }
  return flags;
}

/** The options of this run, or null when only the usage was asked for (printed here). */
export function loadOptions(argv = process.argv.slice(2), env = process.env): BenchOptions | null {
  const flags = parseFlags(
    argv,
    ['--quick', '--help'],
    ['--rounds', '--seconds', '--summary-events'],
    USAGE,
  );
  if (flags.has('--help')) {
    process.stdout.write(USAGE);
    return null;
  }
  const quick = flags.has('--quick');
  const pick = (flag: string, variable: string, quickValue: number, fullValue: number) =>
    positive(flag, flags.get(flag)) ??
    positive(variable, env[variable]) ??
    (quick ? quickValue : fullValue);
  const rounds = Math.floor(pick('--rounds', 'BENCH_ROUNDS', 3, 5));
  if (rounds < 3) throw new Error('every figure is a median of at least 3 rounds: --rounds ≥ 3');
  return {
    quick,
    rounds,
    seconds: pick('--seconds', 'BENCH_SECONDS', 3, 10),
    warmupSeconds: quick ? 1 : 2,
    settleMs: quick ? 500 : 1_000,
    connections: Math.floor(positive('BENCH_CONNECTIONS', env.BENCH_CONNECTIONS) ?? 50),
    eventConnections: 4,
    batchSize: 1_000,
    openLoopSeconds: quick ? 3 : 10,
    redisPings: 2_000,
    summaryEvents: Math.floor(pick('--summary-events', 'BENCH_SUMMARY_EVENTS', 500_000, 5_000_000)),
    summaryUsers: 100_000,
    summaryCalls: 30,
    summaryBudgetSeconds: quick ? 5 : 30,
    sqlRuns: quick ? 3 : 5,
    strict: env.BENCH_STRICT === '1',
    ...harnessSettings(env),
  };
}

/** What the bench and the soak read alike: the build, the servers they use, the results folder. */
export function harnessSettings(env = process.env) {
  return {
    skipBuild: env.BENCH_SKIP_BUILD === '1',
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    logLevel: env.BENCH_LOG_LEVEL ?? 'warn',
    nodeOptions: env.BENCH_NODE_OPTIONS || undefined,
    resultsDir: join(__dirname, 'results'),
  };
}
