/**
 * What a soak run does: how long, how hard (a fixed offered rate per kind of request, far below
 * what two instances on two cores serve, so that latency and memory show the code rather than a
 * saturated machine), how often memory is sampled, and what "flat" means.
 */
import { harnessSettings, parseFlags, positive } from './config';
import { ServerOptions } from './server';

/** Requests per second of each steady kind, over both instances together. */
export interface SoakRates {
  ping: number;
  verify: number;
  /** `POST /v1/events` batches per second. */
  events: number;
  /** Usage reports per second, summary and series in turn. */
  reports: number;
  /** Pings with the deliberately limited key: about half are refused with 429. */
  limited: number;
}

export interface SoakOptions extends ServerOptions {
  minutes: number;
  rates: SoakRates;
  batchSize: number;
  /** Ids of every batch that were already accepted before: answered as duplicates. */
  duplicatesPerBatch: number;
  /** The limited key's own rate limit, per second (below its offered rate). */
  limitedKeyPerSecond: number;
  /** One key created, used, revoked and checked refused on the other instance, this often. */
  churnSeconds: number;
  /** One org crossing 80 % then 100 % of a quota (two webhook deliveries), this often. */
  webhookSeconds: number;
  sampleSeconds: number;
  /** Requests of one kind in flight past which the next one is counted as an error. */
  maxInFlight: number;
  /** "Flat": RSS growth from the second minute to the last within this share. */
  rssGrowth: number;
  skipBuild: boolean;
  /** Written into soak.md as given: what else ran on the machine, why this run was made. */
  note?: string;
}

const USAGE = `Usage: npm run soak [-- options]

  --minutes N   minutes of load (default 10)
  --note TEXT   a sentence written into soak.md (what else shared the machine, say)
  --help        this text

Builds once (skip with BENCH_SKIP_BUILD=1), starts two instances on one database and one Redis,
drives mixed load through both round-robin, and writes bench/results/soak.json and soak.md.
Exits 1 on any error (5xx, connection error, unexpected answer), a webhook delivery missing,
or RSS growth above 10 % from the second minute to the last.

Environment: BENCH_LOG_LEVEL (the servers' LOG_LEVEL, warn), BENCH_NODE_OPTIONS,
DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL (redis://127.0.0.1:6379).
`;

/** The options of this run, or null when only the usage was asked for (printed here). */
export function loadSoakOptions(argv = process.argv.slice(2), env = process.env) {
  const flags = parseFlags(argv, ['--help'], ['--minutes', '--note'], USAGE);
  if (flags.has('--help')) {
    process.stdout.write(USAGE);
    return null;
  }
  const options: SoakOptions = {
    minutes: positive('--minutes', flags.get('--minutes')) ?? 10,
    rates: { ping: 20, verify: 10, events: 2, reports: 1, limited: 4 },
    batchSize: 50,
    duplicatesPerBatch: 5,
    limitedKeyPerSecond: 2,
    churnSeconds: 10,
    webhookSeconds: 30,
    sampleSeconds: 5,
    maxInFlight: 50,
    rssGrowth: 0.1,
    note: flags.get('--note'),
    ...harnessSettings(env),
  };
  return options;
}
