/**
 * The soak's load: steady kinds of request offered at fixed rates (open loop: a slow answer does
 * not slow the offer down, it piles up and shows), and two cycles that each prove something
 * across the instances: a key created, used, revoked and refused on the other instance, and an
 * org whose usage crosses 80 % then 100 % of a quota, whose two webhook messages must arrive.
 */
import { SoakOptions } from './soak-config';
import { WebhookReceiver } from './soak-receiver';
import { expect, Traffic } from './soak-traffic';
import { pause } from './stats';

export interface SoakWorld {
  options: SoakOptions;
  traffic: Traffic;
  receiver: WebhookReceiver;
  /** The platform admin's JWT; the admin owns every org. */
  token: string;
  orgId: string;
  apiKey: string;
  /** A key of the same org with a rate limit of its own, below the rate it is offered. */
  limitedKey: string;
  /** Plan whose `THRESHOLD_METER` quota the webhook cycle crosses. */
  thresholdPlan: string;
}

export const THRESHOLD_METER = 'soak_units';
/** `THRESHOLD_METER`'s included units: 8 events cross 80 %, 2 more 100 %. */
export const THRESHOLD_INCLUDED = 10;
/** The batches' meter (sum of `data.tokens`), and what each event carries. */
const TOKENS = { meter: 'tokens', perEvent: 3 };

/** What the answers said was recorded, to hold against the usage summary at the end. */
export const recorded = { apiCalls: 0, tokens: 0, eventsAccepted: 0, duplicates: 0 };

let serial = 0;
const uniqueId = (stem: string) => `${stem}-${process.pid}-${++serial}`;
/** Ids of the last accepted batch: the next batches send some of them again. */
let acceptedIds: string[] = [];

const keyed = (key: string) => ({ headers: { 'x-api-key': key } });
const pong = expect(200, (b: { pong?: boolean }) => (b?.pong ? undefined : 'no pong'));

/** A ping of the org's: counted as an api_calls event when it answers 200. */
async function ping(w: SoakWorld, kind: string, key: string, instance?: number, limited = false) {
  const answer = await w.traffic.send(kind, instance, 'GET', '/v1/ping', keyed(key), (a) =>
    limited && a.status === 429 && (a.body as { code?: string })?.code === 'rate_limited'
      ? 'limited'
      : pong(a),
  );
  if (answer?.status === 200) recorded.apiCalls++;
  return answer;
}

function verify(w: SoakWorld) {
  return w.traffic.send(
    'verify',
    undefined,
    'POST',
    '/v1/verify',
    { ...keyed(w.apiKey), body: {} },
    expect(200, (b: { valid?: boolean }) => (b?.valid ? undefined : 'not valid')),
  );
}

async function events(w: SoakWorld) {
  const { batchSize, duplicatesPerBatch } = w.options;
  const again = acceptedIds.slice(0, duplicatesPerBatch);
  const ids = [...again];
  while (ids.length < batchSize) ids.push(uniqueId('soak'));
  const batch = ids.map((id, i) => ({
    id,
    type: TOKENS.meter,
    subject: `customer-${i % 10}`,
    data: { tokens: TOKENS.perEvent },
  }));
  const fresh = batchSize - again.length;
  const answer = await w.traffic.send(
    'events',
    undefined,
    'POST',
    '/v1/events',
    { ...keyed(w.apiKey), body: { events: batch } },
    expect(202, (b: { accepted?: number; duplicates?: number }) =>
      b?.accepted === fresh && b?.duplicates === again.length
        ? undefined
        : `expected ${fresh} accepted and ${again.length} duplicates, got ${JSON.stringify(b)}`,
    ),
  );
  if (answer?.status !== 202) return;
  const body = answer.body as { accepted: number; duplicates: number };
  recorded.eventsAccepted += body.accepted;
  recorded.duplicates += body.duplicates;
  recorded.tokens += body.accepted * TOKENS.perEvent;
  acceptedIds = ids.slice(again.length);
}

let reportTurn = 0;
function report(w: SoakWorld) {
  const auth = { token: w.token };
  if (reportTurn++ % 2 === 0)
    return w.traffic.send(
      'summary',
      undefined,
      'GET',
      `/orgs/${w.orgId}/usage/summary`,
      auth,
      expect(200, (b: { data?: unknown[] }) => (Array.isArray(b?.data) ? undefined : 'no data')),
    );
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  const to = new Date(day.getTime() + 2 * 86_400_000);
  const query = `meter=${TOKENS.meter}&window=hour&from=${day.toISOString()}&to=${to.toISOString()}`;
  return w.traffic.send(
    'series',
    undefined,
    'GET',
    `/orgs/${w.orgId}/usage?${query}`,
    auth,
    expect(200, (b: { data?: unknown[] }) => (Array.isArray(b?.data) ? undefined : 'no data')),
  );
}

/** The org's key: created on one instance, used and then refused on the other. */
async function churn(w: SoakWorld): Promise<void> {
  const [here, there] = [w.traffic.pick(), w.traffic.pick()];
  const auth = { token: w.token };
  const created = await w.traffic.send(
    'churn',
    here,
    'POST',
    `/orgs/${w.orgId}/api-keys`,
    { ...auth, body: { name: uniqueId('churn') } },
    expect(201),
  );
  const { id, key } = (created?.body ?? {}) as { id?: string; key?: string };
  if (created?.status !== 201 || !id || !key) return;
  await ping(w, 'churn', key, there);
  await w.traffic.send(
    'churn',
    here,
    'DELETE',
    `/orgs/${w.orgId}/api-keys/${id}`,
    auth,
    expect(204),
  );
  // The contract: a revoked key stops working everywhere within 1 second.
  await pause(1_000);
  await w.traffic.send(
    'churn',
    there,
    'GET',
    '/v1/ping',
    keyed(key),
    expect(401, (b: { code?: string }) => (b?.code === 'key_revoked' ? undefined : b?.code)),
  );
}

/** A new org on the threshold plan, with an endpoint, crossing 80 % and then 100 %. */
async function thresholds(w: SoakWorld): Promise<void> {
  const auth = { token: w.token };
  const send = (
    instance: number,
    method: string,
    path: string,
    body: object,
    judge = expect(201),
  ) => w.traffic.send('webhooks', instance, method, path, { ...auth, body }, judge);
  const [a, b] = [w.traffic.pick(), w.traffic.pick()];
  const org = await send(a, 'POST', '/orgs', { name: uniqueId('soak-thresholds') });
  const orgId = (org?.body as { id?: string })?.id;
  if (!orgId) return;
  const plan = await send(b, 'PUT', `/orgs/${orgId}/plan`, { plan: w.thresholdPlan }, expect(200));
  const hook = await send(a, 'POST', `/orgs/${orgId}/webhooks`, {
    url: `${w.receiver.url}/hooks/${orgId}`,
    events: ['quota.threshold'],
  });
  const secret = (hook?.body as { secret?: string })?.secret;
  const created = await send(b, 'POST', `/orgs/${orgId}/api-keys`, { name: 'thresholds' });
  const key = (created?.body as { key?: string })?.key;
  if (plan?.status !== 200 || !secret || !key) return;
  w.receiver.endpoint(orgId, secret);
  for (const [threshold, count, instance] of [
    [80, 8, a],
    [100, 2, b],
  ]) {
    const acknowledged = w.receiver.expect(orgId, threshold);
    const batch = Array.from({ length: count }, () => ({
      id: uniqueId('units'),
      type: THRESHOLD_METER,
    }));
    const sent = await w.traffic.send(
      'webhooks',
      instance,
      'POST',
      '/v1/events',
      { ...keyed(key), body: { events: batch } },
      expect(202),
    );
    if (sent?.status === 202) acknowledged();
  }
}

/** Calls `job` `perSecond` times a second until `until` (performance.now()), not waiting for it. */
async function steady(
  w: SoakWorld,
  kind: string,
  perSecond: number,
  until: number,
  job: () => Promise<unknown>,
) {
  const start = performance.now();
  let started = 0;
  let inFlight = 0;
  while (performance.now() < until) {
    const due = Math.floor(((performance.now() - start) / 1000) * perSecond);
    for (; started < due; started++) {
      // Past the cap the instances are not keeping up: an error, not a silent slowdown.
      if (inFlight >= w.options.maxInFlight) {
        w.traffic.fault(kind, `${inFlight} requests in flight`);
        continue;
      }
      inFlight++;
      void job().finally(() => inFlight--);
    }
    await pause(Math.max(5, Math.min(50, 500 / perSecond)));
  }
  while (inFlight > 0) await pause(20);
}

/** Runs `cycle` every `seconds`, one at a time, until `until`. */
async function every(seconds: number, until: number, cycle: () => Promise<void>) {
  while (performance.now() < until) {
    const next = performance.now() + seconds * 1000;
    await cycle();
    await pause(Math.max(0, Math.min(next, until) - performance.now()));
  }
}

/** The whole load for `seconds`; resolves once every request sent has been answered. */
export async function drive(w: SoakWorld, seconds: number): Promise<void> {
  const until = performance.now() + seconds * 1000;
  const { rates } = w.options;
  await Promise.all([
    steady(w, 'ping', rates.ping, until, () => ping(w, 'ping', w.apiKey)),
    steady(w, 'verify', rates.verify, until, () => verify(w)),
    steady(w, 'events', rates.events, until, () => events(w)),
    steady(w, 'reports', rates.reports, until, () => report(w)),
    steady(w, 'limited', rates.limited, until, () =>
      ping(w, 'limited', w.limitedKey, undefined, true),
    ),
    every(w.options.churnSeconds, until, () => churn(w)),
    every(w.options.webhookSeconds, until, () => thresholds(w)),
  ]);
}
