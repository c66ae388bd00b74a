import { get, IncomingHttpHeaders, Server } from 'node:http';
import { Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { EXPORT_IDLE_MS, MAX_EXPORTS_PER_ORG } from '../src/usage/events-report.service';
import { expectError } from './support/assertions';
import { createOrg, createUser, TestUser } from './support/factories';
import { api, asUser, listeningUrl } from './support/http';
import { describeWithPostgres, setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/** Events of the big org: tens of MB of CSV, far more than the socket buffers hold. */
const BIG_EXPORT_EVENTS = 60_000;
/**
 * "Promptly": what other tenants' requests must answer within while exports stall. Starving them
 * (an export holding the connections they need) would be a hang; this bound leaves a wide margin
 * for a busy machine.
 */
const PROMPT_MS = 10_000;

/** An export whose client read its first bytes and then stopped reading (and keeps the socket). */
interface StalledExport {
  status: number;
  headers: IncomingHttpHeaders;
  /**
   * Resolves when the server closes its end of the connection, with the time it happened. (The
   * client cannot tell: it reads nothing, so it never reads the end either.)
   */
  cut: Promise<number>;
  /** The client hangs up. */
  hangUp(): void;
}

/** The server side of each connection to `server`, by the client's port. */
function serverSockets(server: Server): Map<number, Socket> {
  const sockets = new Map<number, Socket>();
  server.on('connection', (socket: Socket) => sockets.set(socket.remotePort!, socket));
  return sockets;
}

function stalledExport(
  url: string,
  headers: Record<string, string>,
  sockets: Map<number, Socket>,
): Promise<StalledExport> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => {
      const serverSide = sockets.get(res.socket.localPort!)!;
      const cut = new Promise<number>((done) => serverSide.once('close', () => done(Date.now())));
      const stalled = {
        status: res.statusCode!,
        headers: res.headers,
        cut,
        hangUp: () => req.destroy(),
      };
      // Stop reading at the first bytes: the server fills the socket buffers, then must wait.
      res.once('data', () => {
        res.pause();
        resolve(stalled);
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? undefined : reject(error),
    );
  });
}

// On a Postgres server: the embedded PGlite is one connection that every request shares, where two
// exports filling their clients' socket buffers keep others waiting for seconds.
describeWithPostgres('exports cannot starve anyone', () => {
  const e2e = setupTestContext();
  let owner: TestUser, bigOrg: string, smallOrg: string, baseUrl: string;
  let sockets: Map<number, Socket>;
  const openStalled = (orgId: string) =>
    stalledExport(`${baseUrl}${exportPath(orgId)}`, asUser(owner), sockets);
  const range = { from: new Date(Date.now() - 2 * 86_400_000), to: new Date(Date.now() + 60_000) };
  const exportPath = (orgId: string) =>
    `/orgs/${orgId}/usage/export?from=${range.from.toISOString()}&to=${range.to.toISOString()}`;
  const db = () => e2e.app.get(DataSource);

  /** Connections of the app's database left inside a transaction with nothing running. */
  const idleInTransaction = async () =>
    (
      await db().query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      )
    )[0].n as number;

  beforeAll(async () => {
    owner = await createUser(e2e.app);
    bigOrg = await createOrg(e2e.app, owner, { name: 'Big' });
    smallOrg = await createOrg(e2e.app, owner, { name: 'Small' });
    // Written straight to the table: only the exports read them.
    for (const [orgId, count] of [
      [bigOrg, BIG_EXPORT_EVENTS],
      [smallOrg, 50],
    ] as const) {
      await db().query(
        `INSERT INTO usage_events (org_id, event_id, meter, time, data)
         SELECT $1, 'ev-' || g, 'api_calls', now() - interval '1 day' + g * interval '1 ms',
                jsonb_build_object('pad', repeat('x', 300))
           FROM generate_series(1, $2::int) AS g`,
        [orgId, count],
      );
    }
    baseUrl = await listeningUrl(e2e.app);
    sockets = serverSockets(e2e.app.getHttpServer());
  }, 60_000);

  it(`runs ${MAX_EXPORTS_PER_ORG} stalled exports of an org, refuses a third (429), and serves everyone else meanwhile`, async () => {
    const stalled = await Promise.all(
      Array.from({ length: MAX_EXPORTS_PER_ORG }, () => openStalled(bigOrg)),
    );
    try {
      expect(stalled.map((s) => s.status)).toEqual(stalled.map(() => 200));

      const third = await api(e2e.app, asUser(owner)).get(exportPath(bigOrg));
      expectError(third, 429, 'too_many_exports');
      expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      // Everyone else: another org's export, logins, org routes, readiness, reports.
      const prompt = (test: ReturnType<ReturnType<typeof api>['get']>) => test.timeout(PROMPT_MS);
      const other = await prompt(api(e2e.app, asUser(owner)).get(exportPath(smallOrg))).expect(200);
      expect(other.text.trimEnd().split('\r\n')).toHaveLength(51);
      await api(e2e.app)
        .post('/auth/login')
        .send({ email: owner.email, password: owner.password })
        .timeout(PROMPT_MS)
        .expect(200);
      await prompt(api(e2e.app, asUser(owner)).get(`/orgs/${bigOrg}`)).expect(200);
      await prompt(api(e2e.app, asUser(owner)).get(`/orgs/${bigOrg}/usage/summary`)).expect(200);
      await prompt(api(e2e.app).get('/health/ready')).expect(200);

      // The stalled exports hold no transaction (nor any connection) while they wait.
      expect(await idleInTransaction()).toBe(0);
    } finally {
      stalled.forEach((s) => s.hangUp());
    }
    // Their slots come back as soon as their clients hang up.
    await eventually(
      async () => {
        const again = await openStalled(bigOrg);
        again.hangUp();
        expect(again.status).toBe(200);
      },
      { timeoutMs: 5_000, intervalMs: 200 },
    );
  });

  it(`cuts off a client that reads nothing for ${EXPORT_IDLE_MS / 1000} s, and frees its slot`, async () => {
    const idle = await openStalled(bigOrg);
    const stalledAt = Date.now();
    expect(idle.status).toBe(200);
    const idleFor = (await idle.cut) - stalledAt;
    // Cut for idleness (not earlier), and not left hanging long after.
    expect(idleFor).toBeGreaterThanOrEqual(EXPORT_IDLE_MS - 1_000);
    expect(idleFor).toBeLessThan(EXPORT_IDLE_MS + 10_000);

    // Both slots are free again: the cut export released its own.
    const next = await Promise.all(
      Array.from({ length: MAX_EXPORTS_PER_ORG }, () => openStalled(bigOrg)),
    );
    next.forEach((s) => s.hangUp());
    expect(next.map((s) => s.status)).toEqual(next.map(() => 200));
    expect(await idleInTransaction()).toBe(0);
  }, 60_000);
});
