/**
 * `npm run bench:ceiling`: how close Nest itself lets a metered call come to `/health` on this
 * machine. Runs ceiling-app.ts (a bare Nest app: a guard with one EVALSHA of the limiter script,
 * a JSON body, constant answers) under the same node flags as `start:prod`, and measures its
 * `POST /verify` against its own `GET /health` the way `npm run bench` measures B2: closed loop,
 * 50 connections, interleaved rounds, the median ratio, and the server's CPU per request. The gap
 * between its two routes is what a verify costs when the product adds nothing to it.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cpuPerUnit, cpuTimes } from './cpu';
import { closedLoop } from './load';
import { readStartCommand } from './server';
import { median } from './stats';

/** The one key the bare app knows. */
const CEILING_KEY = 'sk_ceiling';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

async function main(): Promise<void> {
  const { nodeArgs } = readStartCommand();
  const child = spawn(
    process.execPath,
    [...nodeArgs, '-r', 'ts-node/register/transpile-only', join(__dirname, 'ceiling-app.ts')],
    {
      env: {
        ...process.env,
        PORT: '0',
        CEILING_KEY,
        CEILING_PREFIX: `ceiling:${process.pid}:`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const stop = () => child.kill('SIGTERM');
  process.on('exit', stop);
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1].replace('[::1]', '127.0.0.1'));
    });
    child.on('exit', (code) => reject(new Error(`the ceiling app stopped (${code})`)));
  });
  const plans: Record<'health' | 'verify', autocannon.Options> = {
    health: { url: `${url}/health` },
    verify: {
      url,
      requests: [
        {
          path: '/verify',
          method: 'POST',
          headers: { 'x-api-key': CEILING_KEY, 'content-type': 'application/json' },
          body: '{}',
        },
      ],
    },
  };
  const run = async (name: 'health' | 'verify', seconds: number) => {
    const before = cpuTimes(child.pid!);
    const stats = await closedLoop(`ceiling ${name}`, {
      ...plans[name],
      connections: CONNECTIONS,
      duration: seconds,
    });
    const cpu = cpuPerUnit(before, cpuTimes(child.pid!), stats.rps * stats.seconds);
    return { rps: stats.rps, serverUs: cpu?.server ?? NaN };
  };
  await run('health', 2);
  await run('verify', 2);
  const rounds: { health: number; verify: number; healthUs: number; verifyUs: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const health = await run('health', SECONDS);
    const verify = await run('verify', SECONDS);
    rounds.push({
      health: health.rps,
      verify: verify.rps,
      healthUs: health.serverUs,
      verifyUs: verify.serverUs,
    });
    process.stderr.write(`round ${round}/${ROUNDS}\n`);
  }
  const ratios = rounds.map((r) => r.verify / r.health);
  const line = (label: string, values: number[], digits = 0) =>
    `${label.padEnd(34)}${median(values).toFixed(digits).padStart(8)}   ${values.map((v) => v.toFixed(digits)).join(' ')}\n`;
  process.stdout.write(
    `bare Nest ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s, node ${nodeArgs.join(' ')}\n` +
      `${'figure'.padEnd(34)}${'median'.padStart(8)}   rounds\n` +
      line(
        'GET /health req/s',
        rounds.map((r) => r.health),
      ) +
      line(
        'POST /verify req/s',
        rounds.map((r) => r.verify),
      ) +
      line('verify ÷ health', ratios, 2) +
      line(
        'server µs of CPU per health',
        rounds.map((r) => r.healthUs),
      ) +
      line(
        'server µs of CPU per verify',
        rounds.map((r) => r.verifyUs),
      ),
  );
  stop();
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
