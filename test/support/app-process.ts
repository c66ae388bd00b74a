import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './redis-server';
import { EnvOverrides } from './test-app';

const ROOT = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 90_000;
/** The last of the process' output kept for failure messages. */
const OUTPUT_KEPT = 20_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The app as production runs it — `src/main.ts` in a process of its own, with its signal handlers
 * (graceful shutdown) — for the tests that signal or kill it. Compiled on the fly by ts-node
 * (transpile only): no build step before the tests. Give it the spec's environment,
 * `ctx.env(overrides)`, so that it shares the spec's database and Redis prefix.
 */
export class AppProcess {
  private output = '';
  readonly exited: Promise<Exit>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => this.keep(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.keep(chunk));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  static async start(env: EnvOverrides): Promise<AppProcess> {
    const port = await freePort();
    const childEnv: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' };
    for (const [name, value] of Object.entries({ ...env, PORT: String(port) })) {
      if (value === undefined) delete childEnv[name];
      else childEnv[name] = value;
    }
    const child = spawn(process.execPath, ['-r', 'ts-node/register', 'src/main.ts'], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(child, port);
    await app.waitUntilServing();
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** What the process printed last (for a failure message). */
  get log(): string {
    return this.output;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills it if it still runs (a test's clean-up). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.kill('SIGKILL');
    await this.exited;
  }

  private keep(chunk: Buffer): void {
    this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT);
  }

  private async waitUntilServing(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let exit: Exit | undefined;
    void this.exited.then((e) => (exit = e));
    while (Date.now() < deadline && !exit) {
      const ok = await fetch(`${this.url}/health`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await this.stop();
    throw new Error(
      `The app did not serve ${this.url}/health (${exit ? `exit ${JSON.stringify(exit)}` : 'timed out'}):\n${this.output}`,
    );
  }
}
