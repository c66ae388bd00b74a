/**
 * B7: Redis round trips per metered request, counted by Redis itself over exactly
 * `redisPings` pings.
 *
 * `INFO commandstats` before and after gives every command Redis ran in the window, but it also
 * counts the commands a Lua script calls (a single EVALSHA that does three calls inside shows up
 * as four) and other clients' commands: the Redis may be shared. So the round trips are counted
 * from MONITOR as well, whose lines tell a client's command from a script's (`lua`), keeping only
 * the server's own connections (found in /proc). Without /proc, every client but this one is
 * kept, and the figure assumes a quiet Redis, as the commandstats figures always do.
 */
import Redis from 'ioredis';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { BenchContext, keyHeaders } from '../context';
import { fixedAmount, noteProblem } from '../load';
import { pause } from '../stats';

export interface RedisTripsResult {
  requests: number;
  /** Commands the server sent to Redis per request (MONITOR, script-internal calls excluded). */
  roundTrips: number;
  /** Whose commands `roundTrips` counts. */
  roundTripsFrom: 'server connections' | 'all clients but the bench';
  /** EVALSHA and EVAL per request (commandstats). */
  scriptCalls: number;
  /** Every command per request, including those run inside scripts (commandstats). */
  commands: number;
  /** commandstats deltas over the window, by command. */
  commandstats: Record<string, number>;
  /** Client commands seen by MONITOR, by command. */
  monitored: Record<string, number>;
}

/** Our own INFO and MONITOR calls are not the server's. */
const OWN_COMMANDS = new Set(['info', 'monitor']);

async function commandstats(redis: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_(\S+):calls=(\d+)/gm))
    calls[m[1]] = Number(m[2]);
  return calls;
}

/** Local ports of `pid`'s TCP connections to `redisPort`, from /proc; null where there is none. */
function connectionPorts(pid: number, redisPort: number): Set<number> | null {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      })();
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }
    const ports = new Set<number>();
    for (const table of ['tcp', 'tcp6']) {
      const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
      for (const line of lines) {
        const fields = line.trim().split(/\s+/);
        const port = (address: string) => parseInt(address.split(':').pop()!, 16);
        if (port(fields[2]) === redisPort && inodes.has(fields[9])) ports.add(port(fields[1]));
      }
    }
    return ports.size ? ports : null;
  } catch {
    return null;
  }
}

const portOf = (source: string) => Number(source.slice(source.lastIndexOf(':') + 1));

export async function runRedisTrips(ctx: BenchContext): Promise<RedisTripsResult> {
  const { options, server, progress } = ctx;
  progress.step(`B7 Redis round trips over ${options.redisPings} pings`);
  const redisPort = Number(new URL(options.redisUrl).port || 6379);
  const stats = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  await stats.ping(); // connected: its local port is known
  // monitor() opens a connection of its own beside the one it is called on.
  const monitor = await stats.monitor();
  try {
    const serverPorts = connectionPorts(server.pid, redisPort);
    const ownPorts = new Set([stats.stream.localPort, monitor.stream.localPort]);
    const monitored: Record<string, number> = {};
    let counting = false;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!counting || source === 'lua') return;
      const port = portOf(source);
      if (serverPorts ? !serverPorts.has(port) : ownPorts.has(port)) return;
      const name = String(args[0]).toLowerCase();
      monitored[name] = (monitored[name] ?? 0) + 1;
    });
    // MONITOR's feed may trail the commands a little: counting starts before the window opens
    // and stops a moment after it closes (the server is otherwise idle then).
    counting = true;
    const before = await commandstats(stats);
    const run = await fixedAmount(
      'B7 GET /v1/ping',
      { url: `${server.url}/v1/ping`, headers: keyHeaders(ctx), connections: 10 },
      options.redisPings,
    );
    await pause(200);
    const after = await commandstats(stats);
    await pause(200);
    counting = false;
    server.assertAlive();
    const requests = run.codes['200'] ?? 0;
    if (requests !== options.redisPings)
      noteProblem(`B7: ${requests} of ${options.redisPings} pings answered 200`);
    const deltas: Record<string, number> = {};
    for (const [name, calls] of Object.entries(after)) {
      const delta = calls - (before[name] ?? 0);
      if (delta > 0 && !OWN_COMMANDS.has(name)) deltas[name] = delta;
    }
    const per = (n: number) => n / Math.max(1, requests);
    const sum = (counts: Record<string, number>) =>
      Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      requests,
      roundTrips: per(sum(monitored)),
      roundTripsFrom: serverPorts ? 'server connections' : 'all clients but the bench',
      scriptCalls: per((deltas.evalsha ?? 0) + (deltas.eval ?? 0)),
      commands: per(sum(deltas)),
      commandstats: deltas,
      monitored,
    };
  } finally {
    monitor.disconnect();
    stats.disconnect();
  }
}
