/**
 * B6: latency of verify and ping at a fixed offered load of half what `/health` reached in the
 * rounds (their median), open loop: the rate does not slow down when the server does.
 */
import { BenchContext, keyHeaders } from '../context';
import { openLoop, OpenLoopStats } from '../load';

export interface LatencyResult {
  offeredRate: number;
  verify: OpenLoopStats;
  ping: OpenLoopStats;
}

export async function runLatency(ctx: BenchContext, healthRps: number): Promise<LatencyResult> {
  const { options, server, progress } = ctx;
  const rate = Math.max(1, Math.round(healthRps / 2));
  const seconds = options.openLoopSeconds;
  progress.step(`B6 POST /v1/verify at ${rate} req/s`);
  const verify = await openLoop(
    'B6 POST /v1/verify',
    { url: `${server.url}/v1/verify`, method: 'POST', headers: keyHeaders(ctx, true), body: '{}' },
    rate,
    seconds,
  );
  server.assertAlive();
  progress.step(`B6 GET /v1/ping at ${rate} req/s`);
  const ping = await openLoop(
    'B6 GET /v1/ping',
    { url: `${server.url}/v1/ping`, headers: keyHeaders(ctx) },
    rate,
    seconds,
  );
  server.assertAlive();
  return { offeredRate: rate, verify, ping };
}
