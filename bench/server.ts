/**
 * The server under test and what it owns: a fresh database `bench_<pid>` on DATABASE_URL's
 * server, a Redis key prefix of its own, and `node dist/main` started exactly as
 * `npm run start:prod` starts it. `cleanup()` undoes all of it and is safe to call on any path.
 */
import Redis from 'ioredis';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchOptions } from './config';
import { pause } from './stats';

const ROOT = join(__dirname, '..');

/** Node flags that take their value as the next word (`-r ts-node/register`). */
const FLAGS_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--env-file', '-C']);

export interface StartCommand {
  /** `NAME=value` words before `node`. */
  env: Record<string, string>;
  nodeArgs: string[];
  entry: string;
  args: string[];
}

/**
 * Splits package.json's `start:prod` (`[NAME=value ...] node [flags] dist/main [args]`) so that
 * the server runs with exactly its node flags (a `--max-old-space-size` added there is measured
 * by B5) while the bench keeps the pid of node itself, not of an npm or shell wrapper.
 */
export function parseStartCommand(script: string): StartCommand {
  if (/["'`$;&|<>\\]/.test(script))
    throw new Error(`start:prod is too elaborate to run without a shell: ${script}`);
  const words = script.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? '')) {
    const [name, ...value] = words.shift()!.split('=');
    env[name] = value.join('=');
  }
  if (words.shift() !== 'node') throw new Error(`start:prod does not start with node: ${script}`);
  const nodeArgs: string[] = [];
  while (words.length && words[0].startsWith('-')) {
    const flag = words.shift()!;
    nodeArgs.push(flag);
    if (FLAGS_WITH_VALUE.has(flag) && words.length) nodeArgs.push(words.shift()!);
  }
  const entry = words.shift();
  if (!entry) throw new Error(`start:prod names no script: ${script}`);
  return { env, nodeArgs, entry, args: words };
}

export function readStartCommand(): StartCommand {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const script = pkg.scripts?.['start:prod'];
  if (!script) throw new Error('package.json has no start:prod script');
  return parseStartCommand(script);
}

/** VmRSS and VmHWM (the peak) of a process, in MB; zeros once it is gone. */
export function memory(pid: number): { rssMb: number; hwmMb: number } {
  const file = `/proc/${pid}/status`;
  const status = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

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

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

export class BenchServer {
  readonly databaseName = `bench_${process.pid}`;
  readonly keyPrefix = `bench:${process.pid}:`;
  /** The platform admin, passed in every form the server may read it (see setup.ts). */
  readonly admin = {
    email: 'bench-admin@bench.test',
    password: randomBytes(16).toString('hex'),
  };
  url = '';
  command?: StartCommand;
  /** VmHWM after each phase in which it rose: where B5's peak comes from. */
  readonly peaks: { phase: string; hwmMb: number }[] = [];
  private child?: ChildProcess;
  private log?: WriteStream;
  private databaseCreated = false;
  private cleaning?: Promise<void>;

  constructor(private readonly options: BenchOptions) {}

  get pid(): number {
    if (!this.child?.pid) throw new Error('the server is not running');
    return this.child.pid;
  }

  /** DATABASE_URL pointed at the bench database. */
  get databaseUrl(): string {
    const url = new URL(this.options.databaseUrl);
    url.pathname = `/${this.databaseName}`;
    return url.toString();
  }

  /** Call at the end of each phase: records the peak RSS if the phase raised it. */
  notePhase(phase: string): void {
    if (!this.child?.pid) return;
    const { hwmMb } = memory(this.child.pid);
    if (hwmMb > (this.peaks.at(-1)?.hwmMb ?? 0)) this.peaks.push({ phase, hwmMb });
  }

  /** Throws when the server has died (a crash mid-scenario must not pass for slowness). */
  assertAlive(): void {
    if (!this.child || !alive(this.child))
      throw new Error('the server died during the run, see bench/results/server.log');
  }

  /** One statement on the maintenance database (CREATE / DROP DATABASE cannot run in ours). */
  async adminQuery<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const client = new Client({ connectionString: this.options.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  }

  async start(): Promise<void> {
    await this.adminQuery(`CREATE DATABASE "${this.databaseName}"`);
    this.databaseCreated = true;
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.command = readStartCommand();
    const { env: scriptEnv, nodeArgs, entry, args } = this.command;
    if (!existsSync(join(ROOT, entry.endsWith('.js') ? entry : `${entry}.js`)))
      throw new Error(`${entry} is missing: build first (without BENCH_SKIP_BUILD=1)`);
    this.log = createWriteStream(join(this.options.resultsDir, 'server.log'));
    const child = spawn(process.execPath, [...nodeArgs, entry, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...scriptEnv,
        NODE_ENV: 'production',
        PORT: String(port),
        DATABASE_URL: this.databaseUrl,
        REDIS_URL: this.options.redisUrl,
        REDIS_KEY_PREFIX: this.keyPrefix,
        JWT_SECRET: randomBytes(24).toString('hex'),
        LOG_LEVEL: this.options.logLevel,
        // Today an admin is whoever signs up with a listed email; soon the server creates the
        // account from the pair. Passing both keeps setup.ts working across that change.
        PLATFORM_ADMIN_EMAILS: this.admin.email,
        PLATFORM_ADMIN_EMAIL: this.admin.email,
        PLATFORM_ADMIN_PASSWORD: this.admin.password,
        AUTH_THROTTLE_PER_IP: '100000',
        LOGIN_FAILURES_PER_EMAIL: '100000',
        ...(this.options.nodeOptions ? { NODE_OPTIONS: this.options.nodeOptions } : {}),
      },
    });
    this.child = child;
    child.stdout?.pipe(this.log);
    child.stderr?.pipe(this.log);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      if (!alive(child))
        throw new Error('the server stopped at start, see bench/results/server.log');
      const up = await fetch(`${this.url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      await pause(200);
    }
    throw new Error('the server did not answer /health within 60 s');
  }

  /** Stops the server, drops the database, deletes the prefix's Redis keys; once, on any path. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      const child = this.child;
      if (child && alive(child)) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      this.log?.end();
      if (this.databaseCreated) {
        await this.adminQuery(`DROP DATABASE IF EXISTS "${this.databaseName}" WITH (FORCE)`).catch(
          (e: Error) => console.error(`cleanup: drop database ${this.databaseName}: ${e.message}`),
        );
      }
      const redis = new Redis(this.options.redisUrl, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      try {
        await redis.connect();
        const stream = redis.scanStream({ match: `${this.keyPrefix}*`, count: 1000 });
        for await (const keys of stream as AsyncIterable<string[]>)
          if (keys.length) await redis.del(keys);
      } catch (e) {
        console.error(`cleanup: redis keys ${this.keyPrefix}*: ${(e as Error).message}`);
      } finally {
        redis.disconnect();
      }
    })();
    return this.cleaning;
  }
}
