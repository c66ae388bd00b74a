import { request } from 'node:http';
import { connect } from 'node:net';
import { DataSource } from 'typeorm';
import { AppProcess } from './support/app-process';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
  TestUser,
} from './support/factories';
import { Answer, IngestClients, postJson, readAnswer, SentBatch } from './support/ingest-clients';
import { describeWithPostgres, setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/** The contract's bound on a graceful stop. */
const STOP_WITHIN_MS = 10_000;

/** Resolves once a new TCP connection to `port` is refused (the server stopped listening). */
function refused(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`port ${port} still accepts connections`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve() : reject(error),
    );
  });
}

/**
 * A `POST /v1/events` whose client sends the headers and half the body, then stalls: a request in
 * flight for as long as the test wants. `finish()` sends the rest.
 */
function stalledIngest(url: string, key: string, id: string) {
  const body = Buffer.from(JSON.stringify({ events: [{ id, type: 'api_calls' }] }));
  const req = request(`${url}/v1/events`, {
    method: 'POST',
    agent: false,
    headers: {
      'x-api-key': key,
      'content-type': 'application/json',
      'content-length': body.length,
    },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  const sent = new Promise<void>((resolve) => req.write(body.subarray(0, half), () => resolve()));
  return { sent, answer, finish: () => req.end(body.subarray(half)) };
}

describeWithPostgres('stopping the process while clients ingest', () => {
  const e2e = setupTestContext();
  let owner: TestUser;
  let child: AppProcess | undefined;
  const db = () => e2e.app.get(DataSource);

  /** A fresh org on a plan that neither limits nor caps the load, with a key. */
  async function orgWithKey(): Promise<{ orgId: string; key: string }> {
    const orgId = await createOrg(e2e.app, owner, { plan: 'unmetered' });
    return { orgId, key: (await createApiKey(e2e.app, owner, orgId)).key };
  }

  /** How many times each id is stored, of the ids given. */
  async function storedCounts(orgId: string, ids: string[]): Promise<Map<string, number>> {
    const rows: { id: string; n: number }[] = await db().query(
      `SELECT event_id AS id, count(*)::int AS n FROM usage_events
        WHERE org_id = $1 AND event_id = ANY($2::text[]) GROUP BY event_id`,
      [orgId, ids],
    );
    return new Map(rows.map((r) => [r.id, r.n]));
  }

  /** Every id given is stored exactly once. */
  async function expectStoredOnce(orgId: string, ids: string[]): Promise<void> {
    const counts = await storedCounts(orgId, ids);
    expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
  }

  /** The monthly totals and hourly rollups add up to exactly the stored events. */
  async function expectTotalsMatchEvents(orgId: string): Promise<void> {
    const [row] = await db().query(
      `SELECT (SELECT count(*) FROM usage_events WHERE org_id = $1)::int AS events,
              (SELECT count(*) FROM usage_event_ids WHERE org_id = $1)::int AS ids,
              (SELECT COALESCE(sum(count), 0) FROM usage_period_totals WHERE org_id = $1)::int AS totals,
              (SELECT COALESCE(sum(count), 0) FROM usage_rollups WHERE org_id = $1)::int AS rollups`,
      [orgId],
    );
    expect(row).toEqual({
      events: row.events,
      ids: row.events,
      totals: row.events,
      rollups: row.events,
    });
  }

  /** Outcomes other than 202 and a connection cut: none may be an error answer (a 5xx above all). */
  const errorAnswers = (batches: SentBatch[]) =>
    batches.filter((b) => typeof b.outcome === 'number' && b.outcome !== 202).map((b) => b.outcome);

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    owner = await createUser(e2e.app);
    await createPlan(e2e.app, admin, {
      code: 'unmetered',
      meters: [],
      rateLimit: { limit: 1_000_000, periodSeconds: 1 },
    });
  });
  afterEach(() => child?.stop());

  it('on SIGTERM stops accepting, finishes the requests in flight, stores every acknowledged event once and exits 0 within 10 s', async () => {
    const { orgId, key } = await orgWithKey();
    child = await AppProcess.start(e2e.ctx.env());
    const clients = new IngestClients(child.url, key, { prefix: 'term' });
    await clients.whenAcknowledged(300);
    const stalled = stalledIngest(child.url, key, 'term-stalled');
    await stalled.sent;

    const signalled = Date.now();
    child.kill('SIGTERM');
    await eventually(() => refused(child!.port), { timeoutMs: 2_000 });
    // The request that was in flight when the signal came is still answered, and durably.
    stalled.finish();
    const answer = await stalled.answer;
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(answer.headers.connection).toBe('close');

    const exit = await child.exited;
    expect({ exit, withinBound: Date.now() - signalled < STOP_WITHIN_MS }).toEqual({
      exit: { code: 0, signal: null },
      withinBound: true,
    });
    // Every request that reached the server was answered, and 202; the rest found it gone.
    const batches = await clients.finished();
    const outcomes = batches.map((b) => b.outcome);
    expect(outcomes.filter((o) => o !== 202 && o !== 'ECONNREFUSED')).toEqual([]);
    await expectStoredOnce(orgId, [...clients.acknowledged, 'term-stalled']);
    await expectTotalsMatchEvents(orgId);
  }, 60_000);

  it('after SIGKILL mid-ingest keeps every acknowledged event once; re-sending everything to a new process counts nothing twice', async () => {
    const { orgId, key } = await orgWithKey();
    child = await AppProcess.start(e2e.ctx.env());
    const clients = new IngestClients(child.url, key, { prefix: 'kill' });
    await clients.whenAcknowledged(300);
    child.kill('SIGKILL');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const batches = await clients.finished();
    expect(errorAnswers(batches)).toEqual([]);
    await expectStoredOnce(orgId, clients.acknowledged);
    const allIds = batches.flatMap((b) => b.ids);
    const storedBefore = (await storedCounts(orgId, allIds)).size;

    // The clients retry everything (an SDK retries what got no answer; a careless one, all).
    child = await AppProcess.start(e2e.ctx.env());
    const resent = { acknowledged: 0, unanswered: 0 };
    for (const batch of batches) {
      const res = await postJson(
        `${child.url}/v1/events`,
        { 'x-api-key': key },
        { events: batch.ids.map((id) => ({ id, type: 'api_calls' })) },
      );
      expect(res.status).toBe(202);
      if (batch.outcome === 202) {
        expect(res.body).toEqual({ accepted: 0, duplicates: batch.ids.length });
        resent.acknowledged += res.body.accepted;
      } else resent.unanswered += res.body.accepted;
    }
    expect(resent).toEqual({ acknowledged: 0, unanswered: allIds.length - storedBefore });
    await expectStoredOnce(orgId, allIds);
    await expectTotalsMatchEvents(orgId);
  }, 90_000);
});
