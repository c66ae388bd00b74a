import { get } from 'node:http';
import { DataSource } from 'typeorm';
import { parseCsv } from './support/csv';
import { createOrg, TestUser } from './support/factories';
import { api, asUser, listeningUrl } from './support/http';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';
import { createUsageWorkload, SEED } from './support/usage-workload';

describe(`usage reports (seed ${SEED})`, () => {
  const e2e = setupTestContext();
  let owner: TestUser, member: TestUser, orgId: string, from: string, to: string, markerTime: Date;

  beforeAll(async () => {
    ({ owner, member, orgId, from, to, markerTime } = await createUsageWorkload(e2e.app));
  });

  const db = () => e2e.app.get(DataSource);

  describe('GET /orgs/:orgId/usage/export', () => {
    it('streams every event in range as RFC 4180 CSV, ordered by time, with a header row', async () => {
      const res = await api(e2e.app, asUser(member))
        .get(`/orgs/${orgId}/usage/export`)
        .query({ from, to })
        .buffer(true)
        .parse((response, done) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => done(null, text));
        })
        .expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const fromC = new Date(from)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      const toC = new Date(to)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      expect(res.headers['content-disposition']).toBe(
        `attachment; filename="usage-${orgId}-${fromC}-${toC}.csv"`,
      );
      const text = res.body as string;
      expect(text.startsWith('id,type,time,subject,apiKeyId,value,data,receivedAt\r\n')).toBe(true);
      expect(text).toContain(',"acme, ""inc""",');

      const [header, ...rows] = parseCsv(text);
      expect(header).toEqual([
        'id',
        'type',
        'time',
        'subject',
        'apiKeyId',
        'value',
        'data',
        'receivedAt',
      ]);
      const stored: {
        id: string;
        type: string;
        time: Date;
        subject: string | null;
        apiKeyId: string;
        value: number | null;
        data: Record<string, unknown>;
        receivedAt: Date;
      }[] = await db().query(
        `SELECT event_id AS id, meter AS type, time, subject, api_key_id AS "apiKeyId", value,
                data, received_at AS "receivedAt"
           FROM usage_events WHERE org_id = $1 ORDER BY time, event_id`,
        [orgId],
      );
      expect(rows).toHaveLength(stored.length);
      rows.forEach((row, i) => {
        const e = stored[i];
        expect(row).toEqual([
          e.id,
          e.type,
          e.time.toISOString(),
          e.subject ?? '',
          e.apiKeyId,
          e.value === null ? '' : String(e.value),
          JSON.stringify(e.data),
          e.receivedAt.toISOString(),
        ]);
      });
      expect(rows.some((r) => r[3] === 'acme, "inc"')).toBe(true);
    });

    it('keeps to the range, exactly', async () => {
      const res = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/export`)
        .query({
          from: markerTime.toISOString(),
          to: new Date(markerTime.getTime() + 1).toISOString(),
        })
        .expect(200);
      const [, ...rows] = parseCsv(res.text);
      expect(rows.map((r) => r[0])).toContain('marker');
      expect(rows.every((r) => r[2] === markerTime.toISOString())).toBe(true);
      const empty = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/export`)
        .query({ from: '2001-01-01', to: '2001-02-01' })
        .expect(200);
      expect(empty.text).toBe('id,type,time,subject,apiKeyId,value,data,receivedAt\r\n');
    });

    it.each<[string, Record<string, string>]>([
      ['no to', { from: '2026-01-01' }],
      ['to before from', { from: '2026-02-01', to: '2026-01-01' }],
      ['more than a year', { from: '2024-01-01', to: '2025-06-01' }],
      ['a bad date', { from: 'yesterday', to: '2026-01-01' }],
    ])('refuses %s (400)', async (_, query) => {
      const res = await api(e2e.app, asUser(owner))
        .get(`/orgs/${orgId}/usage/export`)
        .query(query)
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
    });

    it('frees its cursor and connection when the client goes away mid-stream', async () => {
      // An org of its own with enough rows for many cursor batches (written straight to the
      // table: only the export reads them).
      const org = await createOrg(e2e.app, owner, { name: 'Bulk' });
      await db().query(
        `INSERT INTO usage_events (org_id, event_id, meter, time, data)
         SELECT $1, 'bulk-' || g, 'api_calls', now() - interval '1 day' + g * interval '1 ms',
                jsonb_build_object('pad', repeat('x', 200))
           FROM generate_series(1, 20000) AS g`,
        [org],
      );
      const url = `${await listeningUrl(e2e.app)}/orgs/${org}/usage/export?from=${from}&to=${to}`;
      await new Promise<void>((resolve, reject) => {
        const req = get(url, { headers: asUser(owner) }, (response) => {
          expect(response.statusCode).toBe(200);
          response.once('data', () => {
            // Stop reading (the server fills the socket and waits), then hang up. This pause is
            // the stalled client of the scenario, not a wait for a result: that is polled below.
            response.pause();
            setTimeout(() => {
              req.destroy();
              resolve();
            }, 100);
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) =>
          error.code === 'ECONNRESET' ? undefined : reject(error),
        );
      });
      // No transaction is left open (on embedded PGlite one would also block every query).
      await eventually(
        async () => {
          const [{ open }] = await db().query(
            `SELECT count(*)::int AS open FROM pg_stat_activity
              WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
          );
          expect(open).toBe(0);
        },
        { timeoutMs: 2500 },
      );
      await api(e2e.app, asUser(owner)).get(`/orgs/${org}/usage/summary`).expect(200);
    });
  });
});
