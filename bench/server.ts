/**
 * The server under test and what it owns: a fresh database `bench_<pid>` on DATABASE_URL's
 * server, a Redis key prefix of its own, and `node dist/main` started exactly as
 * `npm run start:prod` starts it. `cleanup()` undoes all of it and is safe to call on any path.
 * A second instance (the soak's) shares the first one's database, prefix, JWT secret and admin,
 * and owns only its process.
 */
import Redis from 'ioredis';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
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

/** `npm run build`, once before any server starts (`dist/` is what start:prod runs). */
export function buildApp(): void {
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
}

/** What a server needs of the run's options (the bench's and the soak's). */
export type ServerOptions = Pick<
  BenchOptions,
  'databaseUrl' | 'redisUrl' | 'logLevel' | 'nodeOptions' | 'resultsDir'
>;

export interface ServerSettings {
  /** Environment added to the bench's own (METRICS_TOKEN, webhook settings...). */
  env?: Record<string, string>;
  /** The log file's name in the results folder. */
  logName?: string;
  /** Another instance of the same deployment: its database, Redis prefix, secret and admin. */
  sibling?: BenchServer;
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

export class BenchServer {
  readonly databaseName: string;
  readonly keyPrefix: string;
  /** The platform admin, passed in every form the server may read it (see setup.ts). */
  readonly admin: { email: string; password: string };
  /** Shared by siblings: a token signed by one instance is valid on the others. */
  readonly jwtSecret: string;
  url = '';
  command?: StartCommand;
  /** VmHWM after each phase in which it rose: where B5's peak comes from. */
  readonly peaks: { phase: string; hwmMb: number }[] = [];
  private child?: ChildProcess;
  private log?: WriteStream;
  private databaseCreated = false;
  private cleaning?: Promise<void>;

  constructor(
    private readonly options: ServerOptions,
    private readonly settings: ServerSettings = {},
  ) {
    const { sibling } = settings;
    this.databaseName = sibling?.databaseName ?? `bench_${process.pid}`;
    this.keyPrefix = sibling?.keyPrefix ?? `bench:${process.pid}:`;
    this.admin = sibling?.admin ?? {
      email: 'bench-admin@bench.test',
      password: randomBytes(16).toString('hex'),
    };
    this.jwtSecret = sibling?.jwtSecret ?? randomBytes(24).toString('hex');
  }

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

  /** False once the process has exited (or before it started). */
  get running(): boolean {
    return Boolean(this.child && alive(this.child));
  }

  /** Throws when the server has died (a crash mid-scenario must not pass for slowness). */
  assertAlive(): void {
    if (!this.running)
      throw new Error(`the server died during the run, see bench/results/${this.logName}`);
  }

  private get logName(): string {
    return this.settings.logName ?? 'server.log';
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
    if (!this.settings.sibling) {
      await this.adminQuery(`CREATE DATABASE "${this.databaseName}"`);
      this.databaseCreated = true;
    }
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.command = readStartCommand();
    const { env: scriptEnv, nodeArgs, entry, args } = this.command;
    if (!existsSync(join(ROOT, entry.endsWith('.js') ? entry : `${entry}.js`)))
      throw new Error(`${entry} is missing: build first (without BENCH_SKIP_BUILD=1)`);
    this.log = createWriteStream(join(this.options.resultsDir, this.logName));
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
        JWT_SECRET: this.jwtSecret,
        LOG_LEVEL: this.options.logLevel,
        // Today an admin is whoever signs up with a listed email; soon the server creates the
        // account from the pair. Passing both keeps setup.ts working across that change.
        PLATFORM_ADMIN_EMAILS: this.admin.email,
        PLATFORM_ADMIN_EMAIL: this.admin.email,
        PLATFORM_ADMIN_PASSWORD: this.admin.password,
        AUTH_THROTTLE_PER_IP: '100000',
        LOGIN_FAILURES_PER_EMAIL: '100000',
        ...(this.options.nodeOptions ? { NODE_OPTIONS: this.options.nodeOptions } : {}),
        ...this.settings.env,
      },
    });
    this.child = child;
    child.stdout?.pipe(this.log);
    child.stderr?.pipe(this.log);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      if (!alive(child))
        throw new Error(`the server stopped at start, see bench/results/${this.logName}`);
      const up = await fetch(`${this.url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      await pause(200);
    }
    throw new Error('the server did not answer /health within 60 s');
  }

  /**
   * Stops the server, drops the database, deletes the prefix's Redis keys; once, on any path.
   * A sibling only stops its process: the first instance owns the rest.
   */
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
      if (this.settings.sibling) return;
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
