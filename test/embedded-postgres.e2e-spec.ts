import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';

const ROOT = resolve(__dirname, '..');

interface Probe {
  url: string;
  pid: number;
  /** The first argument of every `listen()` the process made. */
  listens: unknown[];
}

/** Inodes of the sockets a process holds open (Linux). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Inodes of every listening TCP socket of the machine (state 0A in /proc/net/tcp and tcp6). */
function tcpListenerInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns[3] === '0A') inodes.add(columns[9]);
    }
  }
  return inodes;
}

describe('the embedded Postgres (PGlite) listens on a private unix socket only', () => {
  let child: ChildProcess;
  let probe: Probe;
  let socketDir: string;

  beforeAll(async () => {
    // PGlite cannot load inside jest's sandbox: a child process starts it as the app does.
    child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'test/support/embedded-postgres-probe.ts'],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const firstLine = await new Promise<string>((done, fail) => {
      createInterface({ input: child.stdout! }).once('line', done);
      child.once('exit', (code) => fail(new Error(`the probe exited with ${code}`)));
    });
    probe = JSON.parse(firstLine);
    socketDir = new URL(probe.url).searchParams.get('host')!;
  }, 60_000);

  afterAll(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.stdin!.end();
    await exited;
  });

  it('serves from a fresh directory of its own, 0700, the socket 0600', () => {
    expect(socketDir).toMatch(/metering-pglite-/);
    const dir = statSync(socketDir);
    expect(dir.isDirectory()).toBe(true);
    expect(dir.mode & 0o777).toBe(0o700);
    expect(dir.uid).toBe(process.getuid!());
    const socket = statSync(`${socketDir}/.s.PGSQL.5432`);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
  });

  it('opens no TCP port: every listen() is on a path, and no TCP listener is the process', () => {
    expect(probe.listens.length).toBeGreaterThan(0);
    for (const target of probe.listens) {
      const path = typeof target === 'string' ? target : (target as { path?: string })?.path;
      expect(path).toBe(`${socketDir}/.s.PGSQL.5432`);
    }
    if (!existsSync(`/proc/${probe.pid}/fd`)) return; // the /proc check is Linux's
    const own = socketInodes(probe.pid);
    expect(own.size).toBeGreaterThan(0);
    for (const inode of tcpListenerInodes()) expect(own.has(inode)).toBe(false);
  });

  it('answers a client that connects through the socket', async () => {
    const client = new Client({ connectionString: probe.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 1 + 1 AS two');
      expect(rows).toEqual([{ two: 2 }]);
    } finally {
      await client.end();
    }
  });

  it('removes its socket directory when it stops', async () => {
    const exited = new Promise((done) => child.once('exit', done));
    child.stdin!.end();
    expect(await exited).toBe(0);
    expect(existsSync(socketDir)).toBe(false);
  });
});
