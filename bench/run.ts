/**
 * `npm run bench`: hot-path throughput as ratios against `GET /health` measured in the same run.
 * Builds (unless BENCH_SKIP_BUILD=1), starts `node dist/main` on a fresh database and Redis key
 * prefix, sets up an admin, org, plan and key over HTTP, then loads each scenario with autocannon.
 * Targets are reported; only BENCH_STRICT=1 turns a miss into a failing exit code.
 */
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const STRICT = env.BENCH_STRICT === '1';
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB_NAME = `bench_${process.pid}`;
const KEY_PREFIX = `bench:${process.pid}:`;
const ADMIN = { email: 'bench-admin@bench.test', password: randomBytes(16).toString('hex') };
const BATCH_SIZE = 1000;
const TARGETS = { ping: 0.5, verify: 0.75, eventsPerSecond: 40_000, rssMb: 300 };
const RESULTS_DIR = join(__dirname, 'results');
const out = (line = ''): boolean => process.stdout.write(`${line}\n`);

let server: ChildProcess | undefined;
let databaseCreated = false;
let cleaning: Promise<void> | undefined;

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Kills the server, drops the database, deletes the prefix's Redis keys; safe to call twice. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const child = server;
    if (child && alive(child)) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (databaseCreated) {
      await admin(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`).catch((e: Error) =>
        console.error(`cleanup: drop database ${DB_NAME}: ${e.message}`),
      );
    }
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const stream = redis.scanStream({ match: `${KEY_PREFIX}*`, count: 1000 });
      for await (const keys of stream as AsyncIterable<string[]>)
        if (keys.length) await redis.del(keys);
    } catch (e) {
      console.error(`cleanup: redis keys ${KEY_PREFIX}*: ${(e as Error).message}`);
    } finally {
      redis.disconnect();
    }
  })();
  return cleaning;
}

const stop = (code: number) => void cleanup().finally(() => process.exit(code));
process.on('SIGINT', () => stop(130));
process.on('SIGTERM', () => stop(143));
process.on('uncaughtException', (error) => {
  console.error(`bench failed: ${error.message}`);
  stop(1);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(),
      );
    });
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** VmRSS and VmHWM (peak) of a process, in MB; zeros once it is gone. */
function memory(pid: number): { rss: number; hwm: number } {
  const file = `/proc/${pid}/status`;
  const status = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function startServer(baseUrl: string, port: number): Promise<ChildProcess> {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${DB_NAME}`;
  const log = createWriteStream(join(RESULTS_DIR, 'server.log'));
  const child = spawn(process.execPath, ['dist/main'], {
    cwd: join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...env,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: url.toString(),
      REDIS_URL,
      REDIS_KEY_PREFIX: KEY_PREFIX,
      JWT_SECRET: randomBytes(24).toString('hex'),
      LOG_LEVEL: env.BENCH_LOG_LEVEL ?? 'warn',
      PLATFORM_ADMIN_EMAILS: ADMIN.email,
      AUTH_THROTTLE_PER_IP: '100000',
      LOGIN_FAILURES_PER_EMAIL: '100000',
      ...(env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: env.BENCH_NODE_OPTIONS } : {}),
    },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if (!alive(child)) throw new Error('the server stopped at start, see server.log');
    const up = await fetch(`${baseUrl}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await pause(200);
  }
  throw new Error('server did not answer /health within 60 s');
}

async function call<T>(base: string, method: string, path: string, body?: object, token?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Admin, org on plan `bench` (huge rate limit, soft quota), and an API key with every scope. */
async function provision(base: string): Promise<string> {
  await call(base, 'POST', '/auth/signup', ADMIN);
  const login = await call<{ access_token: string }>(base, 'POST', '/auth/login', ADMIN);
  const token = login.access_token;
  const org = await call<{ id: string }>(base, 'POST', '/orgs', { name: 'Bench' }, token);
  const meter = { meter: 'api_calls', included: 1_000_000_000, enforcement: 'soft' };
  const plan = { code: 'bench', name: 'Bench', currency: 'USD', baseFee: 0 };
  const rateLimit = { limit: 1_000_000, periodSeconds: 1 };
  const meters = [{ ...meter, price: { model: 'flat', unitAmount: 0 } }];
  await call(base, 'POST', '/admin/plans', { ...plan, rateLimit, meters }, token);
  await call(base, 'PUT', `/orgs/${org.id}/plan`, { plan: 'bench' }, token);
  const keys = `/orgs/${org.id}/api-keys`;
  return (await call<{ key: string }>(base, 'POST', keys, { name: 'bench' }, token)).key;
}

interface Scenario {
  name: string;
  target?: number; // minimum ratio of /health's req/s
  options: (tally: { events: number }) => Partial<autocannon.Options>;
}

/** Unique ids per request: the batch is serialised once and the id stem joined in per request. */
const batchParts = JSON.stringify({
  events: Array.from({ length: BATCH_SIZE }, (_, i) => ({
    id: `@ID@-${i}`,
    type: 'api_calls',
    subject: `customer-${i % 100}`,
  })),
}).split('@ID@');
let batchSeq = 0;
const nextBatch = (): string => batchParts.join(`b${process.pid}-${++batchSeq}`);

async function measure(url: string, scenario: Scenario, pid: number) {
  const base = { url, connections: CONNECTIONS };
  await autocannon({ ...base, ...scenario.options({ events: 0 }), duration: WARMUP_SECONDS });
  const tally = { events: 0 };
  let rssMb = 0;
  const sampler = setInterval(() => (rssMb = Math.max(rssMb, memory(pid).rss)), 200);
  const r = await autocannon({ ...base, ...scenario.options(tally), duration: SECONDS });
  clearInterval(sampler);
  if (!server || !alive(server)) throw new Error('the server died during the run, see server.log');
  await pause(1_000); // let writes still in flight settle before the next scenario
  const codes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) codes[code] = stat.count ?? 0;
  const { duration, errors, timeouts, latency } = r;
  const stats = { rps: r['2xx'] / duration, p50: latency.p50, p99: latency.p99, errors, timeouts };
  const extra = { codes, duration, rssMb, eventsPerSecond: tally.events / duration };
  return { name: scenario.name, target: scenario.target, ...stats, ...extra };
}

type Result = Awaited<ReturnType<typeof measure>>;

/** Prints the table, writes bench/results/latest.json; true when every target is met. */
function report(results: Result[], hwmMb: number): boolean {
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const rows = results.map((r) => ({ ...r, ratio: r.rps / results[0].rps }));
  const eventsPerSecond = results[3].eventsPerSecond;
  const checks = {
    ping: rows[1].ratio >= TARGETS.ping,
    verify: rows[2].ratio >= TARGETS.verify,
    eventsPerSecond: eventsPerSecond >= TARGETS.eventsPerSecond,
    rssMb: hwmMb < TARGETS.rssMb,
  };
  const w = [24, 8, 8, 8, 7, 8, 6, 8]; // column widths
  const line = (cells: (string | number)[], tail: string) =>
    out(`${cells.map((c, i) => String(c)[i ? 'padStart' : 'padEnd'](w[i])).join('')}  ${tail}`);
  out();
  line(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'target', '', 'RSS MB'], 'non-2xx');
  for (const r of rows) {
    const bad = Object.entries(r.codes)
      .filter(([c]) => !c.startsWith('2'))
      .map((e) => e.join(':'));
    const target = r.target === undefined ? '' : `≥${r.target.toFixed(2)}`;
    const result = r.target === undefined ? '' : verdict(r.ratio >= r.target);
    const [rps, ratio, rss] = [r.rps.toFixed(0), r.ratio.toFixed(2), r.rssMb.toFixed(0)];
    line([r.name, rps, r.p50, r.p99, ratio, target, result, rss], bad.join(' ') || '0');
  }
  out(
    `${'events/s (202s only)'.padEnd(24)}${eventsPerSecond.toFixed(0).padStart(8)}   target ≥ ${TARGETS.eventsPerSecond}  ${verdict(checks.eventsPerSecond)}`,
  );
  out(
    `${'server peak RSS (VmHWM)'.padEnd(24)}${hwmMb.toFixed(0).padStart(8)} MB target < ${TARGETS.rssMb} MB  ${verdict(checks.rssMb)}`,
  );
  const flags = rows.filter(
    (r) =>
      r.errors || r.timeouts || Object.keys(r.codes).some((c) => c === '429' || Number(c) >= 500),
  );
  for (const r of flags)
    out(
      `RED FLAG ${r.name}: ${JSON.stringify(r.codes)}, errors ${r.errors}, timeouts ${r.timeouts}`,
    );
  const pass = Object.values(checks).every(Boolean) && flags.length === 0;
  const run = {
    date: new Date(),
    node: process.version,
    cpus: cpus().length,
    SECONDS,
    CONNECTIONS,
  };
  const raw = { run, TARGETS, checks, pass, eventsPerSecond, hwmMb, scenarios: rows };
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(raw, null, 2)}\n`);
  out(
    `\n${pass ? 'All targets met' : 'Some targets missed'}; raw numbers in bench/results/latest.json, server log in bench/results/server.log`,
  );
  return pass;
}

async function main(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (env.BENCH_SKIP_BUILD !== '1') {
    const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  if (!existsSync(join(__dirname, '../dist/main.js'))) throw new Error('dist/main.js missing');
  await admin(`CREATE DATABASE "${DB_NAME}"`);
  databaseCreated = true;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  server = await startServer(url, port);
  const pid = server.pid as number;
  const key = await provision(url);
  const headers = { 'content-type': 'application/json', 'x-api-key': key };
  const scenarios: Scenario[] = [
    { name: 'GET /health', options: () => ({ url: `${url}/health` }) },
    {
      name: 'GET /v1/ping',
      target: TARGETS.ping,
      options: () => ({ url: `${url}/v1/ping`, headers }),
    },
    {
      name: 'POST /v1/verify',
      target: TARGETS.verify,
      options: () => ({ url: `${url}/v1/verify`, method: 'POST', headers, body: '{}' }),
    },
    {
      name: `POST /v1/events ×${BATCH_SIZE}`,
      options: (tally) => ({
        requests: [
          {
            path: '/v1/events',
            method: 'POST',
            headers,
            setupRequest: (request) => ({ ...request, body: nextBatch() }),
            onResponse: (status, body) => {
              if (status === 202)
                tally.events += (JSON.parse(body) as { accepted: number }).accepted;
            },
          },
        ],
      }),
    },
  ];
  out(
    `Benchmark: ${SECONDS} s per scenario after ${WARMUP_SECONDS} s warm-up, ${CONNECTIONS} connections, ${cpus().length} CPUs, Node ${process.version}`,
  );
  const results: Result[] = [];
  for (const scenario of scenarios) {
    out(`  running ${scenario.name} ...`);
    results.push(await measure(url, scenario, pid));
  }
  const pass = report(results, memory(pid).hwm);
  if (STRICT && !pass) process.exitCode = 1;
}

main()
  .catch((error: Error) => {
    console.error(`bench failed: ${error.message}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
