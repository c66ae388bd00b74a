/**
 * `npm run soak [-- --minutes N]`: two instances of the app on one database and one Redis, ten
 * minutes of mixed load through both round-robin at a moderate fixed rate (pings, verify, event
 * batches with duplicates, usage reports, a deliberately limited key, key churn across the
 * instances, quota thresholds delivered as webhooks to a local receiver), each instance's memory
 * sampled as it goes. The verdict: no error, every check right, memory flat (soak-report.ts).
 * Not part of CI or `npm test`: it takes ten minutes. Exit 1 when the soak fails; on every exit
 * the servers are stopped, the database dropped, the Redis keys deleted, the receiver closed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Client } from 'pg';
import { RunGuard } from './lifecycle';
import { Progress } from './progress';
import { machine, versions, whole } from './report';
import { BenchServer, buildApp, memory } from './server';
import { call, setUp } from './setup';
import { loadSoakOptions, SoakOptions } from './soak-config';
import { drive, recorded, SoakWorld, THRESHOLD_INCLUDED, THRESHOLD_METER } from './soak-jobs';
import { WebhookReceiver } from './soak-receiver';
import { MemorySample, soakReport } from './soak-report';
import { Traffic } from './soak-traffic';
import { pause } from './stats';

const servers: BenchServer[] = [];
const receiver = new WebhookReceiver();
const guard = new RunGuard('soak', async () => {
  // The sibling first: the first instance's cleanup drops the database they share.
  for (const server of [...servers].reverse()) await server.cleanup();
  await receiver.close();
});
/** Bearer of both instances' /metrics, where the heap figure comes from. */
const metricsToken = randomBytes(16).toString('hex');
/** How long the last webhook messages may take once the load stops (the worker polls each 1 s). */
const DELIVERY_GRACE_MS = 20_000;

/** Two instances of one deployment; the second neither creates the database nor migrates it. */
async function startInstances(options: SoakOptions, progress: Progress): Promise<void> {
  const env = { METRICS_TOKEN: metricsToken, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' };
  for (const n of [1, 2]) {
    progress.step(`starting instance #${n}`);
    const server = new BenchServer(options, {
      env: n === 1 ? env : { ...env, MIGRATIONS_RUN: 'false' },
      logName: `soak-server-${n}.log`,
      sibling: servers[0],
    });
    servers.push(server);
    await server.start();
  }
}

/** The bench's org and key, and what only the soak needs: the threshold plan, a limited key. */
async function setUpWorld(options: SoakOptions): Promise<Omit<SoakWorld, 'traffic'>> {
  const [one, two] = servers.map((s) => s.url);
  const bench = await setUp(one, servers[0].admin);
  const auth = { token: bench.token };
  const meter = { slug: THRESHOLD_METER, name: 'Soak units', aggregation: 'count' };
  await call(two, 'POST', '/admin/meters', { body: meter, ...auth });
  const thresholdPlan = 'soak-thresholds';
  await call(two, 'POST', '/admin/plans', {
    ...auth,
    body: {
      code: thresholdPlan,
      name: 'Soak thresholds',
      currency: 'USD',
      baseFee: 0,
      rateLimit: { limit: 1_000_000, periodSeconds: 1 },
      meters: [
        {
          meter: THRESHOLD_METER,
          included: THRESHOLD_INCLUDED,
          enforcement: 'soft',
          price: { model: 'flat', unitAmount: 0 },
        },
      ],
    },
  });
  const limited = await call<{ key: string }>(two, 'POST', `/orgs/${bench.orgId}/api-keys`, {
    ...auth,
    body: { name: 'limited', rateLimit: { limit: options.limitedKeyPerSecond, periodSeconds: 1 } },
  });
  return {
    options,
    receiver,
    token: bench.token,
    orgId: bench.orgId,
    apiKey: bench.apiKey,
    limitedKey: limited.key,
    thresholdPlan,
  };
}

/** Each instance's RSS (from /proc) and heap in use (from /metrics), every few seconds. */
function sampleMemory(options: SoakOptions, traffic: Traffic, samples: MemorySample[]) {
  const take = async () => {
    const seconds = (performance.now() - traffic.started) / 1000;
    await Promise.all(
      servers.map(async (server, instance) => {
        // A dead instance shows as connection errors, and as a problem at the end.
        if (!server.running) return;
        const heapMb = await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${metricsToken}` },
          signal: AbortSignal.timeout(5_000),
        })
          .then((r) => r.text())
          .then((text) => Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1]) / 2 ** 20)
          .catch(() => NaN);
        const { rssMb } = memory(server.pid);
        samples.push({ seconds, minute: traffic.minuteNow() + 1, instance, rssMb, heapMb });
      }),
    );
  };
  const timer = setInterval(() => void take().catch(() => undefined), options.sampleSeconds * 1000);
  return () => clearInterval(timer);
}

/**
 * Once a minute: the minute just ended on stdout, and the bar's label. The returned stop prints
 * the minutes not printed yet (the last one ends with the load).
 */
function reportMinutes(traffic: Traffic, samples: MemorySample[], progress: Progress, of: number) {
  let printed = 0;
  const print = (upTo: number) => {
    for (const m of traffic.minuteStats().slice(printed, upTo)) {
      const rss = [0, 1].map((i) => {
        const mine = samples.filter((s) => s.instance === i && s.minute === m.minute);
        return `${whole(mine.at(-1)?.rssMb ?? NaN)} MB`;
      });
      progress.clear();
      process.stdout.write(
        `minute ${m.minute}/${of}: ${whole(m.requests)} requests, ${m.errors} errors, ` +
          `${m.limited} expected 429s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms, ` +
          `RSS ${rss.join(' / ')}\n`,
      );
      printed = m.minute;
    }
  };
  // The last minute is printed by stop, once its last answers are in.
  const timer = setInterval(() => {
    if (printed + 1 >= of) return;
    print(printed + 1);
    progress.step(`load, minute ${printed + 1}/${of}`);
  }, 60_000);
  return () => {
    clearInterval(timer);
    print(of);
  };
}

/** After the load: the last deliveries, and the usage summary against what the answers said. */
async function check(world: SoakWorld, problems: string[]): Promise<void> {
  for (const deadline = Date.now() + DELIVERY_GRACE_MS; Date.now() < deadline;) {
    if (receiver.missing() <= 0) break;
    await pause(250);
  }
  const d = receiver.stats;
  if (d.expected !== d.received)
    problems.push(`${d.expected - d.received} of ${d.expected} webhook messages never arrived`);
  problems.push(...d.rejected.map((r) => `webhook receiver: ${r}`));
  servers.forEach(
    (s, i) => s.running || problems.push(`instance #${i + 1} died: see soak-server-${i + 1}.log`),
  );
  const summary = await call<{ data: { meter: string; value: number }[] }>(
    (servers.find((s) => s.running) ?? servers[0]).url,
    'GET',
    `/orgs/${world.orgId}/usage/summary`,
    { token: world.token },
  ).catch((error: Error) => {
    problems.push(`usage summary: ${error.message}`);
    return { data: [] };
  });
  const value = (meter: string) => summary.data.find((l) => l.meter === meter)?.value ?? 0;
  for (const [meter, expected] of [
    ['api_calls', recorded.apiCalls],
    ['tokens', recorded.tokens],
  ] as const)
    if (value(meter) !== expected)
      problems.push(`usage summary says ${meter} = ${value(meter)}, the answers ${expected}`);
}

const quoted = (arg: string) => (/^[\w.=-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`);

async function main(): Promise<void> {
  const options = loadSoakOptions();
  if (!options) return;
  mkdirSync(options.resultsDir, { recursive: true });
  if (!options.skipBuild) buildApp();
  const progress = new Progress(options.minutes * 60 + 40);
  guard.progress = progress;
  await receiver.listen();
  await startInstances(options, progress);
  progress.step('setting up the admin, plans, org and keys over HTTP');
  const ready = await setUpWorld(options);
  const db = new Client({ connectionString: servers[0].databaseUrl });
  db.on('error', () => undefined);
  await db.connect();
  const host = machine(...(await versions(db, options.redisUrl)));
  await db.end();

  progress.step(`load, minute 1/${Math.ceil(options.minutes)}`);
  // The minutes count from here: setting up is no part of the first one.
  const traffic = new Traffic(
    servers.map((s) => s.url),
    options.minutes,
  );
  const world: SoakWorld = { ...ready, traffic };
  const samples: MemorySample[] = [];
  const stopSampling = sampleMemory(options, traffic, samples);
  const stopMinutes = reportMinutes(traffic, samples, progress, Math.ceil(options.minutes));
  await drive(world, options.minutes * 60);
  stopSampling();
  stopMinutes();
  progress.step('waiting for the last webhook deliveries; checking the usage summary');
  const problems: string[] = [];
  await check(world, problems);
  progress.stop();

  const d = receiver.stats;
  const pass = soakReport({
    options,
    machine: host,
    command: ['npm run soak --', ...process.argv.slice(2).map(quoted)].join(' '),
    minutes: traffic.minuteStats(),
    kinds: traffic.kindStats(),
    totals: traffic.totals(),
    memory: samples,
    deliveries: d,
    problems,
    errorSamples: traffic.errorSamples(),
    notes: [
      `Events: ${whole(recorded.eventsAccepted)} accepted and ${whole(recorded.duplicates)} ` +
        `duplicates answered as such; the usage summary of api_calls (${whole(recorded.apiCalls)}) ` +
        `and tokens (${whole(recorded.tokens)}) equals what the answers recorded: ` +
        `${problems.some((p) => p.startsWith('usage summary')) ? 'no' : 'yes'}`,
    ],
  });
  if (!pass) process.exitCode = 1;
}

guard.run(main);
