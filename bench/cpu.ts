/**
 * CPU time by who spent it, read from /proc: the server, PostgreSQL's processes, Redis and the
 * bench itself (the load generator). B1 and B2 compare scenarios on a machine whose cores all of
 * them share; this tells where each request's CPU goes, and so what the server could still win.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { median } from './stats';

export const CPU_OWNERS = ['server', 'postgres', 'redis', 'bench'] as const;
export type CpuOwner = (typeof CPU_OWNERS)[number];
/** Seconds of CPU (user + system) per owner. */
export type CpuTimes = Record<CpuOwner, number>;

/** Linux's USER_HZ: the unit of the times in /proc/<pid>/stat. */
const TICKS_PER_SECOND = 100;

function ownerOf(pid: number, command: string, serverPid: number): CpuOwner | undefined {
  if (pid === serverPid) return 'server';
  if (pid === process.pid) return 'bench';
  if (command.startsWith('postgres')) return 'postgres';
  if (command.startsWith('redis-server')) return 'redis';
  return undefined;
}

/** The CPU spent so far by each owner; undefined without /proc. */
export function cpuTimes(serverPid: number): CpuTimes | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const times: CpuTimes = { server: 0, postgres: 0, redis: 0, bench: 0 };
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const owner = ownerOf(pid, stat.slice(open + 1, close), serverPid);
    if (!owner) continue;
    // After the command: state, ppid, … utime is the 12th field, stime the 13th.
    const fields = stat.slice(close + 2).split(' ');
    times[owner] += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  }
  return times;
}

/** Microseconds of CPU per unit of work (a request, an event) between two readings. */
export function cpuPerUnit(
  before: CpuTimes | undefined,
  after: CpuTimes | undefined,
  units: number,
): CpuTimes | undefined {
  if (!before || !after || units <= 0) return undefined;
  const per = (owner: CpuOwner) => ((after[owner] - before[owner]) * 1e6) / units;
  return {
    server: per('server'),
    postgres: per('postgres'),
    redis: per('redis'),
    bench: per('bench'),
  };
}

/** The median of each owner's figure over rounds. */
export function medianCpu(rounds: (CpuTimes | undefined)[]): CpuTimes | undefined {
  const known = rounds.filter((r): r is CpuTimes => r !== undefined);
  if (!known.length) return undefined;
  const of = (owner: CpuOwner) => median(known.map((r) => r[owner]));
  return { server: of('server'), postgres: of('postgres'), redis: of('redis'), bench: of('bench') };
}
