/**
 * The verdict: B1–B7 as figures against their targets (medians of the rounds, every round kept),
 * printed as a table on stdout, written as bench/results/latest.json (raw numbers) and
 * bench/results/latest.md (the same tables in Markdown).
 */
import Redis from 'ioredis';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchOptions, TARGETS } from './config';
import { CPU_OWNERS, medianCpu } from './cpu';
import { OpenLoopStats } from './load';
import { LatencyResult } from './scenarios/latency';
import { RedisTripsResult } from './scenarios/redis-trips';
import { SummaryResult } from './scenarios/summary';
import { RoundResult } from './scenarios/throughput';
import { StartCommand } from './server';
import { median } from './stats';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
  /** 1-minute load average at the start and the end: far above 0, the figures are noisy. */
  loadStart: number;
  loadEnd?: number;
}

export function machine(postgres: string, redis: string): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    postgres,
    redis,
    loadStart: loadavg()[0],
  };
}

/** PostgreSQL's and Redis's versions, for the machine's description. */
export async function versions(db: Client, redisUrl: string): Promise<[string, string]> {
  const pg = (await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`))
    .rows[0].v;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    return [pg, /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'];
  } finally {
    redis.disconnect();
  }
}

export interface BenchResults {
  options: BenchOptions;
  machine: Machine;
  server: StartCommand & { peakRssMb: number; peaks: { phase: string; hwmMb: number }[] };
  rounds: RoundResult[];
  latency: LatencyResult;
  redis: RedisTripsResult;
  summary: SummaryResult;
  problems: readonly string[];
}

interface Figure {
  id: string;
  name: string;
  value: number;
  /** Per round, for the round-based figures. */
  rounds?: number[];
  text: string;
  roundsText: string;
  target: string;
  pass: boolean;
}

/** Share of B6's offered rate that must have been served for its latency to count. */
const HELD_SHARE = 0.95;

export const fixed = (digits: number) => (n: number) =>
  Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
const ratio = fixed(2);
const ms = fixed(1);
export const whole = (n: number) =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a';

function figures(r: BenchResults): Figure[] {
  const per = (pick: (x: RoundResult) => number) => r.rounds.map(pick);
  const fig = (
    id: string,
    name: string,
    value: number,
    format: (n: number) => string,
    target: string,
    pass: boolean,
    rounds?: number[],
  ): Figure => ({
    id,
    name,
    value,
    rounds,
    text: format(value),
    roundsText: rounds?.map(format).join(' ') ?? '',
    target,
    pass,
  });
  const min = (id: string, name: string, rounds: number[], goal: number, f = ratio) =>
    fig(id, name, median(rounds), f, `≥ ${f(goal)}`, median(rounds) >= goal, rounds);
  const max = (id: string, name: string, value: number, goal: number, f = ms) =>
    fig(id, name, value, f, `≤ ${f(goal)}`, value <= goal);
  // A p99 measured below the offered rate describes a lighter load than B6's: it only counts when
  // the server kept up with the rate.
  const held = (name: string, stats: OpenLoopStats, goal: number) => {
    const kept = stats.achievedRate >= HELD_SHARE * stats.offeredRate;
    const f = max('B6', `${name} p99 ms at ${whole(stats.offeredRate)} req/s`, stats.p99, goal);
    return { ...f, target: `${f.target}, rate held`, pass: f.pass && kept };
  };
  const [previous, last] = r.rounds.slice(-2).map((x) => x.rssMb);
  const growth = last / previous - 1;
  const s = r.summary;
  const kinds = `count, sum, unique_count; ${whole(s.seed.events)} events`;
  return [
    min(
      'B1',
      'GET /v1/ping ÷ GET /health',
      per((x) => x.pingRatio),
      TARGETS.pingRatio,
    ),
    min(
      'B2',
      'POST /v1/verify ÷ GET /health',
      per((x) => x.verifyRatio),
      TARGETS.verifyRatio,
    ),
    min(
      'B3',
      'POST /v1/events events/s',
      per((x) => x.events.eventsPerSecond),
      TARGETS.eventsPerSecond,
      whole,
    ),
    min(
      'B3',
      'events ingest ÷ COPY',
      per((x) => x.ingestVsCopy),
      TARGETS.ingestVsCopy,
    ),
    max('B4', `/usage/summary p50 ms (${kinds})`, s.p50Ms, TARGETS.summaryP50Ms),
    fig(
      'B4',
      'plain SQL ÷ /usage/summary',
      s.speedup,
      fixed(1),
      `≥ ${TARGETS.summarySpeedup}`,
      s.speedup >= TARGETS.summarySpeedup,
    ),
    max('B5', 'server peak RSS MB (VmHWM)', r.server.peakRssMb, TARGETS.peakRssMb, whole),
    fig(
      'B5',
      'RSS growth, last two rounds',
      growth * 100,
      (n) => `${fixed(1)(n)} %`,
      `≤ ${TARGETS.rssGrowth * 100} %`,
      growth <= TARGETS.rssGrowth,
    ),
    held('verify', r.latency.verify, TARGETS.verifyP99Ms),
    held('ping', r.latency.ping, TARGETS.pingP99Ms),
    max('B7', 'Redis round trips per ping', r.redis.roundTrips, TARGETS.redisRoundTrips, fixed(2)),
  ];
}

/** A Markdown table, or a plain one for the terminal (the second column left-aligned). */
export function table(header: string[], rows: string[][], markdown: boolean): string {
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function render(r: BenchResults, figs: Figure[], pass: boolean, markdown: boolean): string {
  const m = r.machine;
  const o = r.options;
  const mode = o.quick ? 'quick' : 'full';
  const setting =
    `${mode} run, ${r.rounds.length} rounds of ${o.seconds} s, ${o.connections} connections ` +
    `(events: ${o.eventConnections}); ${m.cores} × ${m.cpu}, Node ${m.node}, PostgreSQL ` +
    `${m.postgres}, Redis ${m.redis}; load average ${fixed(2)(m.loadStart)} at the start, ` +
    `${fixed(2)(m.loadEnd ?? NaN)} at the end; server: node ${[...r.server.nodeArgs, r.server.entry].join(' ')}`;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const main = table(
    ['id', 'figure', 'median', 'rounds', 'target', ''],
    figs.map((f) => [f.id, f.name, f.text, f.roundsText, f.target, verdict(f.pass)]),
    markdown,
  );
  const rounds = table(
    ['round', 'health req/s', 'ping req/s', 'verify req/s', 'events/s', 'COPY rows/s', 'RSS MB'],
    r.rounds.map((x) => [
      String(x.round),
      whole(x.health.rps),
      whole(x.ping.rps),
      whole(x.verify.rps),
      whole(x.events.eventsPerSecond),
      whole(x.copy.rowsPerSecond),
      whole(x.rssMb),
    ]),
    markdown,
  );
  const cpuRows = (['health', 'ping', 'verify', 'events', 'copy'] as const).flatMap((scenario) => {
    const c = medianCpu(r.rounds.map((x) => x.cpu[scenario]));
    if (!c) return [];
    const total = CPU_OWNERS.reduce((sum, owner) => sum + c[owner], 0);
    const unit = { events: 'per event', copy: 'per row' }[scenario as string] ?? 'per request';
    // Per event and per row the figures are a few µs: one decimal tells them apart.
    const digits = unit === 'per request' ? 0 : 1;
    return [
      [scenario, unit, ...CPU_OWNERS.map((owner) => fixed(digits)(c[owner])), fixed(digits)(total)],
    ];
  });
  const cpu = cpuRows.length
    ? table(['scenario', 'µs of CPU', ...CPU_OWNERS, 'total'], cpuRows, markdown)
    : '(no /proc: CPU by process not measured)';
  const l = r.latency;
  const s = r.summary;
  const walPerEvent = median(r.rounds.map((x) => x.events.walBytesPerEvent));
  const notes = [
    `B3: PostgreSQL wrote ${whole(walPerEvent)} bytes of WAL per event ingested (median of the rounds)`,
    `B4: summary over ${s.calls} calls${s.budgetHit ? ' (time budget reached)' : ''}, ` +
      `p90 ${ms(s.p90Ms)} ms; plain SQL p50 count ${ms(s.sqlP50Ms.count)} ms + sum ` +
      `${ms(s.sqlP50Ms.sum)} ms + unique_count ${ms(s.sqlP50Ms.unique)} ms over ${s.sqlRuns} runs; ` +
      `seeded in ${fixed(1)(s.seed.seconds)} s (+ ${fixed(1)(s.seed.analyzeSeconds)} s ANALYZE)`,
    `B6: offered ${whole(l.offeredRate)} req/s; verify got ${whole(l.verify.achievedRate)}, ` +
      `p50 ${ms(l.verify.p50)} ms, max ${ms(l.verify.max)} ms; ping got ` +
      `${whole(l.ping.achievedRate)}, p50 ${ms(l.ping.p50)} ms, max ${ms(l.ping.max)} ms`,
    `B7: ${r.redis.requests} pings; per ping: ${fixed(2)(r.redis.roundTrips)} commands from the ` +
      `${r.redis.roundTripsFrom} (MONITOR), ${fixed(2)(r.redis.scriptCalls)} EVALSHA/EVAL and ` +
      `${fixed(2)(r.redis.commands)} commands in all, scripts' own calls included ` +
      `(INFO commandstats, assumes a quiet Redis)`,
  ];
  const rises = r.server.peaks.slice(-3).map((p) => `${whole(p.hwmMb)} MB after ${p.phase}`);
  notes.push(`B5: the peak RSS rose last to ${rises.join(', then ')}`);
  const flags = r.problems.map((p) => `RED FLAG ${p}`);
  const end = `${pass ? 'All targets met' : 'Some targets missed'}${flags.length ? ', with red flags' : ''}.`;
  if (markdown) {
    const list = (items: string[]) => items.map((i) => `- ${i}`).join('\n');
    return [
      `# Benchmark results, ${new Date().toISOString()}`,
      setting,
      main,
      '## Rounds',
      rounds,
      '## CPU by process (median of the rounds; bench = the load generator)',
      cpu,
      '## Details',
      list([...notes, ...flags]),
      end,
      '',
    ].join('\n\n');
  }
  return ['', setting, '', main, '', rounds, '', cpu, '', ...notes, ...flags, '', end, ''].join(
    '\n',
  );
}

/** latest.json gets pasted into issues: the servers' addresses, not their passwords. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Prints the tables and writes latest.json and latest.md; true when every target is met. */
export function report(results: BenchResults): boolean {
  results.machine.loadEnd = loadavg()[0];
  const figs = figures(results);
  const pass = figs.every((f) => f.pass) && results.problems.length === 0;
  process.stdout.write(render(results, figs, pass, false));
  const dir = results.options.resultsDir;
  const options = {
    ...results.options,
    databaseUrl: withoutPassword(results.options.databaseUrl),
    redisUrl: withoutPassword(results.options.redisUrl),
  };
  const raw = { date: new Date(), targets: TARGETS, figures: figs, pass, ...results, options };
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(raw, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), render(results, figs, pass, true));
  process.stdout.write(
    'Raw numbers in bench/results/latest.json, tables in latest.md, server log in server.log\n',
  );
  return pass;
}
