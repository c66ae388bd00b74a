/**
 * Load generation with autocannon: closed loop for throughput (B1–B3), a fixed offered rate for
 * latency (B6), and a fixed number of requests for counting (B7). Every run's non-2xx statuses,
 * connection errors and timeouts are kept, so that BENCH_STRICT can fail on any of them.
 */
import autocannon from 'autocannon';
import { percentile } from './stats';

export interface LoadStats {
  name: string;
  seconds: number;
  /** 2xx responses per second. */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  codes: Record<string, number>;
  errors: number;
  timeouts: number;
}

/** Every run of the bench, warm-ups included: a 5xx during a warm-up is still a 5xx. */
const problems: string[] = [];

export const loadProblems = (): readonly string[] => problems;

export function noteProblem(text: string): void {
  problems.push(text);
}

function check(stats: LoadStats): LoadStats {
  const bad = Object.entries(stats.codes).filter(([code]) => !code.startsWith('2'));
  if (bad.length || stats.errors || stats.timeouts) {
    const codes = bad.map(([code, n]) => `${n}×${code}`).join(' ');
    noteProblem(
      `${stats.name}: ${codes || 'no bad status'}, ${stats.errors} connection errors, ${stats.timeouts} timeouts`,
    );
  }
  return stats;
}

function codesOf(result: autocannon.Result): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    codes[code] = stat.count ?? 0;
  return codes;
}

/** As many requests as `connections` connections can make, one at a time each. */
export async function closedLoop(name: string, options: autocannon.Options): Promise<LoadStats> {
  const r = await autocannon(options);
  return check({
    name,
    seconds: r.duration,
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    codes: codesOf(r),
    errors: r.errors,
    timeouts: r.timeouts,
  });
}

/**
 * Lanes of the open-loop run. autocannon's `overallRate` gives each connection a budget per
 * second, reset by a 1 s timer that starts with the connection: every connection of one instance
 * fires at the same instant and then sends back to back until its budget is spent. One instance
 * therefore offers the load as one burst per second, at the concurrency of its connections, which
 * measures the burst rather than the rate. Several instances started a fraction of a second
 * apart, with few connections each, spread the same rate over the second.
 */
const LANES = 10;
const CONNECTIONS_PER_LANE = 2;

export interface OpenLoopStats extends LoadStats {
  offeredRate: number;
  /** Responses per second actually obtained: below the offered rate, the load was not held. */
  achievedRate: number;
}

function lane(options: autocannon.Options, latencies: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    instance.on('response', (_client, status, _bytes, time) => {
      if (status >= 200 && status < 300) latencies.push(time);
    });
  });
}

/**
 * `rate` requests per second for `seconds`, latency of every 2xx from its own samples (not
 * autocannon's histogram, whose coordinated-omission correction assumes one request per
 * millisecond per connection whatever the rate, and so multiplies every slow sample).
 */
export async function openLoop(
  name: string,
  options: autocannon.Options,
  rate: number,
  seconds: number,
): Promise<OpenLoopStats> {
  const latencies: number[] = [];
  const lanes: Promise<autocannon.Result>[] = [];
  const perLane = (i: number) => Math.floor(rate / LANES) + (i < rate % LANES ? 1 : 0);
  for (let i = 0; i < LANES; i++) {
    const laneRate = perLane(i);
    if (laneRate === 0) continue;
    const laneOptions = {
      ...options,
      connections: Math.min(CONNECTIONS_PER_LANE, laneRate),
      overallRate: laneRate,
      duration: seconds,
    };
    lanes.push(
      new Promise<void>((resolve) => setTimeout(resolve, (1000 * i) / LANES)).then(() =>
        lane(laneOptions, latencies),
      ),
    );
  }
  const results = await Promise.all(lanes);
  const codes: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(codesOf(r))) codes[code] = (codes[code] ?? 0) + n;
  const ok = latencies.length;
  return {
    ...(check({
      name,
      seconds,
      rps: ok / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
      codes,
      errors: results.reduce((n, r) => n + r.errors, 0),
      timeouts: results.reduce((n, r) => n + r.timeouts, 0),
    }) as LoadStats),
    offeredRate: rate,
    achievedRate: Object.values(codes).reduce((a, b) => a + b, 0) / seconds,
  };
}

/** Exactly `amount` requests (B7 counts Redis commands per request). */
export function fixedAmount(
  name: string,
  options: autocannon.Options,
  amount: number,
): Promise<LoadStats> {
  return closedLoop(name, { ...options, amount });
}
