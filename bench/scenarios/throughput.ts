/**
 * One round of B1–B3 and B5: `GET /health`, metered `GET /v1/ping`, `POST /v1/verify {}`,
 * `POST /v1/events` in 1000-event batches, then the COPY baseline, back to back on the same
 * server, so that each ratio compares runs made seconds apart under the same conditions.
 */
import autocannon from 'autocannon';
import { BenchContext, keyHeaders } from '../context';
import { copyBaseline, CopyResult } from '../copy-baseline';
import { cpuPerUnit, cpuTimes, CpuTimes } from '../cpu';
import { closedLoop, LoadStats, noteProblem } from '../load';
import { memory } from '../server';
import { pause } from '../stats';
import { batchMaker } from './events';

export interface EventsStats extends LoadStats {
  accepted: number;
  eventsPerSecond: number;
  /** PostgreSQL's WAL written per accepted event (what a primary and its replicas must carry). */
  walBytesPerEvent: number;
}

async function walPosition(ctx: BenchContext): Promise<bigint> {
  const { rows } = await ctx.db.query<{ lsn: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS lsn`,
  );
  return BigInt(rows[0].lsn.split('.')[0]);
}

export interface RoundResult {
  round: number;
  health: LoadStats;
  ping: LoadStats;
  verify: LoadStats;
  events: EventsStats;
  copy: CopyResult;
  /** RSS of the server at the end of the round (B5's flatness). */
  rssMb: number;
  /** µs of CPU by owner per request (health, ping, verify), per event (events), per row (copy). */
  cpu: Record<'health' | 'ping' | 'verify' | 'events' | 'copy', CpuTimes | undefined>;
  pingRatio: number;
  verifyRatio: number;
  ingestVsCopy: number;
}

/** Batches answered 202 over the whole run (warm-ups included), for the durability check. */
export const ingestion = { accepted: 0, batches: 0, acceptedStems: [] as string[] };

/** autocannon hands each connection's request and response the same context object. */
interface BatchContext {
  stem?: string;
}

export const SCENARIOS = ['GET /health', 'GET /v1/ping', 'POST /v1/verify', 'POST /v1/events'];

export async function runRound(ctx: BenchContext, round: number): Promise<RoundResult> {
  const { options, server } = ctx;
  const url = server.url;
  const nextBatch = batchMaker(options.batchSize);
  let invalidVerdicts = 0;
  let acceptedNow = 0;
  const plans: [string, autocannon.Options][] = [
    [SCENARIOS[0], { url: `${url}/health` }],
    [SCENARIOS[1], { url: `${url}/v1/ping`, headers: keyHeaders(ctx) }],
    [
      SCENARIOS[2],
      {
        url,
        requests: [
          {
            path: '/v1/verify',
            method: 'POST',
            headers: keyHeaders(ctx, true),
            body: '{}',
            // verify answers 200 whatever the verdict: a refused key must not pass for speed.
            onResponse: (status, body) => {
              if (status === 200 && !body.includes('"valid":true')) invalidVerdicts++;
            },
          },
        ],
      },
    ],
    [
      SCENARIOS[3],
      {
        url,
        connections: options.eventConnections,
        requests: [
          {
            path: '/v1/events',
            method: 'POST',
            headers: keyHeaders(ctx, true),
            // One request in flight per connection: the stem set up last is the one answered.
            setupRequest: (request, context: BatchContext) => {
              context.stem = `r${round}b${++ingestion.batches}`;
              return { ...request, body: nextBatch(context.stem) };
            },
            onResponse: (status, body, context: BatchContext) => {
              if (status !== 202) return;
              const { accepted } = JSON.parse(body) as { accepted: number };
              ingestion.accepted += accepted;
              ingestion.acceptedStems.push(context.stem!);
              acceptedNow += accepted;
            },
          },
        ],
      },
    ],
  ];
  const results: LoadStats[] = [];
  const cpu: (CpuTimes | undefined)[] = [];
  let walBytes = 0;
  for (const [name, plan] of plans) {
    const base = { connections: options.connections, ...plan };
    if (round === 1) {
      ctx.progress.step(`warm-up ${name}`);
      await autocannon({ ...base, duration: options.warmupSeconds });
    }
    ctx.progress.step(`round ${round}/${options.rounds} ${name}`);
    acceptedNow = 0;
    const before = cpuTimes(server.pid);
    const walBefore = name === SCENARIOS[3] ? await walPosition(ctx) : 0n;
    const stats = await closedLoop(name, { ...base, duration: options.seconds });
    if (name === SCENARIOS[3]) walBytes = Number((await walPosition(ctx)) - walBefore);
    const units = name === SCENARIOS[3] ? acceptedNow : stats.rps * stats.seconds;
    cpu.push(cpuPerUnit(before, cpuTimes(server.pid), units));
    server.assertAlive();
    results.push(stats);
    await pause(options.settleMs);
  }
  if (invalidVerdicts) noteProblem(`POST /v1/verify: ${invalidVerdicts} answers not valid`);
  const [health, ping, verify, loaded] = results;
  const events = {
    ...loaded,
    accepted: acceptedNow,
    eventsPerSecond: acceptedNow / loaded.seconds,
    walBytesPerEvent: acceptedNow ? walBytes / acceptedNow : NaN,
  };

  ctx.progress.step(`round ${round}/${options.rounds} COPY baseline`);
  // The rows the events scenario got through in this round, at least a few batches' worth.
  const rows = Math.max(events.accepted, 20 * options.batchSize);
  const beforeCopy = cpuTimes(server.pid);
  const copy = await copyBaseline(ctx.db, ctx.setup.orgId, rows, options.batchSize);
  // What PostgreSQL spends per row when it stores the rows and nothing else: B3's floor.
  const copyCpu = cpuPerUnit(beforeCopy, cpuTimes(server.pid), copy.rows);
  return {
    round,
    health,
    ping,
    verify,
    events,
    copy,
    rssMb: memory(server.pid).rssMb,
    cpu: { health: cpu[0], ping: cpu[1], verify: cpu[2], events: cpu[3], copy: copyCpu },
    pingRatio: ping.rps / health.rps,
    verifyRatio: verify.rps / health.rps,
    ingestVsCopy: events.eventsPerSecond / copy.rowsPerSecond,
  };
}
