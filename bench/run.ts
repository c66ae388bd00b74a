/**
 * `npm run bench [-- --quick]`: the performance issue's figures B1–B7 on this machine.
 *
 * Builds (unless BENCH_SKIP_BUILD=1), starts the server as `npm run start:prod` would on a fresh
 * database and Redis key prefix, sets up over HTTP what a customer and the operator would, then:
 * rounds of /health, ping, verify, events and the COPY baseline (B1–B3, B5); open-loop latency at
 * half the /health maximum (B6); Redis round trips per ping (B7); a month of events seeded by SQL
 * and the usage summary over it (B4). Throughputs are ratios to /health in the same round, and
 * figures are medians of the rounds, so that they mean something on any machine.
 *
 * Targets are reported; BENCH_STRICT=1 turns a miss, a 5xx, a 429 or a connection error into
 * exit code 1. On every exit the server is stopped, the database dropped, the Redis keys deleted.
 */
import { mkdirSync } from 'node:fs';
import { Client } from 'pg';
import { BenchOptions, loadOptions } from './config';
import { BenchContext } from './context';
import { loadProblems, noteProblem } from './load';
import { RunGuard } from './lifecycle';
import { Progress } from './progress';
import { machine, report, versions } from './report';
import { checkIngestion } from './scenarios/events';
import { runLatency } from './scenarios/latency';
import { runRedisTrips } from './scenarios/redis-trips';
import { runSummary } from './scenarios/summary';
import { ingestion, RoundResult, runRound } from './scenarios/throughput';
import { BenchServer, buildApp, memory } from './server';
import { setUp } from './setup';
import { median } from './stats';

let server: BenchServer | undefined;
const guard = new RunGuard('bench', () => server?.cleanup() ?? Promise.resolve());

/** Seconds the run should take on a quiet machine: what the progress bar fills towards. */
function planned(o: BenchOptions): number {
  const scenario = o.seconds + o.settleMs / 1000;
  const rounds = o.rounds * (4 * scenario + 1) + 4 * o.warmupSeconds;
  const seed = o.summaryEvents / 200_000;
  // Today's summary takes seconds at 5M events, and uses its whole time budget.
  const summary = 1.25 * o.summaryBudgetSeconds + (o.sqlRuns + 1) * (o.summaryEvents / 2e6);
  return 5 + rounds + 2 * (o.openLoopSeconds + 1) + 3 + seed + summary + 2;
}

async function main(): Promise<void> {
  const options = loadOptions();
  if (!options) return;
  mkdirSync(options.resultsDir, { recursive: true });
  if (!options.skipBuild) buildApp();
  server = new BenchServer(options);
  const progress = new Progress(planned(options), (phase) => server?.notePhase(phase));
  guard.progress = progress;
  progress.step('starting the server');
  await server.start();
  const db = new Client({ connectionString: server.databaseUrl });
  // DROP DATABASE … WITH (FORCE) ends this connection if it is still open: not a crash.
  db.on('error', () => undefined);
  await db.connect();
  try {
    progress.step('setting up the admin, plan, orgs and keys over HTTP');
    const setup = await setUp(server.url, server.admin);
    const [postgres, redis] = await versions(db, options.redisUrl);
    const ctx: BenchContext = { options, server, setup, db, progress };
    const host = machine(postgres, redis);

    const rounds: RoundResult[] = [];
    for (let round = 1; round <= options.rounds; round++) rounds.push(await runRound(ctx, round));
    const latency = await runLatency(ctx, median(rounds.map((r) => r.health.rps)));
    const redisTrips = await runRedisTrips(ctx);
    progress.step('B3 checking the accepted events');
    const ingestionProblems = await checkIngestion({
      db,
      base: server.url,
      apiKey: setup.apiKey,
      orgId: setup.orgId,
      batchSize: options.batchSize,
      accepted: ingestion.accepted,
      acceptedStems: ingestion.acceptedStems,
    });
    ingestionProblems.forEach(noteProblem);
    const summary = await runSummary(ctx);
    server.assertAlive();
    const peakRssMb = memory(server.pid).hwmMb;
    progress.stop();

    const pass = report({
      options,
      machine: host,
      server: { ...server.command!, peakRssMb, peaks: server.peaks },
      rounds,
      latency,
      redis: redisTrips,
      summary,
      problems: loadProblems(),
    });
    if (options.strict && !pass) process.exitCode = 1;
  } finally {
    await db.end().catch(() => undefined);
  }
}

guard.run(main);
