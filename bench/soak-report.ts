/**
 * The soak's verdict: a per-minute table (requests, errors, expected 429s, p50/p99, RSS and heap
 * of each instance), totals per kind of request, the webhook and consistency checks, printed on
 * stdout and written as bench/results/soak.json (raw) and soak.md. It passes with no error, no
 * problem found by a check, and RSS growth from the second minute to the last within the bound.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fixed, Machine, table, whole, withoutPassword } from './report';
import { SoakOptions } from './soak-config';
import { DeliveryStats } from './soak-receiver';
import { MinuteStats } from './soak-traffic';
import { median, percentile } from './stats';

export interface MemorySample {
  /** Seconds since the load started, and the minute (from 1) they fall in. */
  seconds: number;
  minute: number;
  instance: number;
  rssMb: number;
  /** V8 heap in use, from the instance's /metrics; NaN when it did not answer. */
  heapMb: number;
}

export interface SoakResults {
  options: SoakOptions;
  machine: Machine;
  command: string;
  minutes: MinuteStats[];
  kinds: Record<string, MinuteStats>;
  totals: MinuteStats;
  memory: MemorySample[];
  deliveries: DeliveryStats;
  /** Checks that found something wrong (a missing delivery, a total the summary disagrees with). */
  problems: string[];
  /** The kinds of error met, with their counts. */
  errorSamples: string[];
  notes: string[];
}

const ms = fixed(1);
const mb = fixed(0);
const percent = (n: number) => `${fixed(2)(100 * n)} %`;

/**
 * RSS and heap of one instance in one minute: the median of its samples, so that one collection
 * caught in the middle of its work does not decide whether memory is flat.
 */
function memoryOf(r: SoakResults, minute: number, instance: number) {
  const samples = r.memory.filter((s) => s.minute === minute && s.instance === instance);
  const heaps = samples.map((s) => s.heapMb).filter(Number.isFinite);
  return { rssMb: median(samples.map((s) => s.rssMb)), heapMb: median(heaps) };
}

/** The flat-memory judgement per instance: the second minute's RSS against the last one's. */
function growth(r: SoakResults) {
  const last = r.minutes.length;
  // Minute 1 holds the warm-up (JIT, pools, caches); a run too short for a minute 2 to compare
  // with the last is not judged.
  const base = Math.min(2, last);
  return [0, 1].map((instance) => {
    const from = memoryOf(r, base, instance).rssMb;
    const to = memoryOf(r, last, instance).rssMb;
    return { instance, base, last, from, to, growth: to / from - 1 };
  });
}

function render(r: SoakResults, pass: boolean, markdown: boolean): string {
  const m = r.machine;
  const o = r.options;
  const setting =
    `${o.minutes} minutes through 2 instances, round-robin; ${m.cores} × ${m.cpu}, ` +
    `${m.memoryGb} GB, ${m.os}; Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}; ` +
    `load average ${fixed(2)(m.loadStart)} at the start, ${fixed(2)(m.loadEnd ?? NaN)} at the end`;
  const q = o.rates;
  const offered =
    `Offered, open loop: ${q.ping} pings/s, ${q.verify} verify/s, ${q.events} batches/s of ` +
    `${o.batchSize} events (${o.duplicatesPerBatch} of them already accepted), ${q.reports} ` +
    `report/s (summary and hourly series in turn), ${q.limited} pings/s with a key limited to ` +
    `${o.limitedKeyPerSecond}/s, a key churned every ${o.churnSeconds} s, an org crossing a quota's ` +
    `80 % and 100 % every ${o.webhookSeconds} s`;
  const rows = r.minutes.map((x) => {
    const mem = [0, 1].map((i) => memoryOf(r, x.minute, i));
    return [
      String(x.minute),
      whole(x.requests),
      whole(x.errors),
      percent(x.errors / Math.max(1, x.requests)),
      whole(x.limited),
      ms(x.p50),
      ms(x.p99),
      ...mem.map((y) => mb(y.rssMb)),
      ...mem.map((y) => mb(y.heapMb)),
    ];
  });
  const perMinute = table(
    ['minute', 'requests', 'errors', 'error rate', '429 (expected)', 'p50 ms', 'p99 ms'].concat([
      'RSS #1 MB',
      'RSS #2 MB',
      'heap #1 MB',
      'heap #2 MB',
    ]),
    rows,
    markdown,
  );
  const kinds = table(
    ['kind', 'requests', 'errors', '429 (expected)', 'p50 ms', 'p99 ms', 'max ms'],
    Object.entries(r.kinds).map(([kind, x]) => [
      kind,
      whole(x.requests),
      whole(x.errors),
      whole(x.limited),
      ms(x.p50),
      ms(x.p99),
      ms(x.max),
    ]),
    markdown,
  );
  const d = r.deliveries;
  const flat = growth(r);
  const t = r.totals;
  const lines = [
    `Requests: ${whole(t.requests)}, errors: ${whole(t.errors)} (${percent(t.errors / Math.max(1, t.requests))}), ` +
      `expected 429s: ${whole(t.limited)}; p50 ${ms(t.p50)} ms, p99 ${ms(t.p99)} ms, max ${ms(t.max)} ms`,
    `Webhooks: ${d.received} of ${d.expected} quota.threshold messages received and verified, ` +
      `${d.repeats} repeated deliveries, ${d.rejected.length} rejected; from the crossing's 202 to ` +
      `the delivery: median ${fixed(2)(median(d.lagSeconds))} s, max ${fixed(2)(percentile(d.lagSeconds, 100))} s`,
    ...flat.map(
      (f) =>
        `RSS of instance #${f.instance + 1}: ${mb(f.from)} MB in minute ${f.base}, ${mb(f.to)} MB in ` +
        `minute ${f.last}: ${f.base === f.last ? 'not judged (run too short)' : `${percent(f.growth)} (bound ${percent(o.rssGrowth)})`}`,
    ),
    ...r.notes,
    ...r.problems.map((p) => `PROBLEM ${p}`),
    ...r.errorSamples.map((e) => `ERROR ${e}`),
  ];
  const end =
    `Verdict: ${pass ? 'PASS' : 'FAIL'}. To pass: 0 errors, every check right, and RSS growth ` +
    `from the second minute to the last ≤ ${percent(o.rssGrowth)} on each instance.`;
  if (markdown) {
    const list = (items: string[]) => items.map((i) => `- ${i}`).join('\n');
    return [
      `# Soak results, ${new Date().toISOString()}`,
      `Command: \`${r.command}\`. ${setting}.`,
      `${offered}.`,
      ...(o.note ? [o.note] : []),
      '## Per minute',
      perMinute,
      `Latency from the request written to the whole answer read, client side, every kind of ` +
        `request together. RSS (\`/proc\`) and V8 heap in use (\`/metrics\`): the median of the ` +
        `minute's samples, one every ${o.sampleSeconds} s.`,
      '## Per kind of request',
      kinds,
      '## Checks',
      list(lines),
      end,
      '',
    ].join('\n\n');
  }
  return ['', setting, offered, '', perMinute, '', kinds, '', ...lines, '', end, ''].join('\n');
}

/** Prints the tables and writes soak.json and soak.md; true when the soak passes. */
export function soakReport(results: SoakResults): boolean {
  results.machine.loadEnd = loadavg()[0];
  const flat = growth(results).every(
    (f) => f.base === f.last || f.growth <= results.options.rssGrowth,
  );
  const pass = results.totals.errors === 0 && results.problems.length === 0 && flat;
  process.stdout.write(render(results, pass, false));
  const dir = results.options.resultsDir;
  const options = {
    ...results.options,
    databaseUrl: withoutPassword(results.options.databaseUrl),
    redisUrl: withoutPassword(results.options.redisUrl),
  };
  const raw = { date: new Date(), pass, ...results, options };
  writeFileSync(join(dir, 'soak.json'), `${JSON.stringify(raw, null, 2)}\n`);
  writeFileSync(join(dir, 'soak.md'), render(results, pass, true));
  return pass;
}
