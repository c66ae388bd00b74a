import fc from 'fast-check';
import { DataSource } from 'typeorm';
import {
  createApiKey,
  createOrg,
  createPlan,
  createPlatformAdmin,
  createUser,
} from './support/factories';
import {
  AUTH_MODES,
  AuthMode,
  bodyFor,
  encodeComponent,
  Operation,
  operationsOf,
  parameterValue,
} from './support/fuzz-requests';
import { api, listeningUrl } from './support/http';
import { checkFetchAnswer } from './support/openapi-validator';
import { setupTestContext } from './support/test-app';

/** Requests in all, spread evenly over the document's operations. */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5_200);

/** Columns that background work changes on its own (key use, webhook attempts): not news. */
const MOVING_COLUMNS: Record<string, string[]> = {
  api_keys: ['last_used_at'],
  webhook_deliveries: [
    'status',
    'attempts',
    'last_status_code',
    'last_error',
    'first_attempt_at',
    'next_attempt_at',
  ],
};

/**
 * Requests generated from the OpenAPI document (fast-check) against every operation in every auth
 * mode: wrong types, missing and extra fields, huge strings and numbers, NUL, lone surrogates,
 * deep nesting, bad media types, malformed JSON, hostile ids, periods and queries. The API never
 * answers 5xx, never 2xx to a body no valid request has, and a refused request changes nothing in
 * the database. A failure prints fast-check's seed and path: FUZZ_SEED=<seed> replays the run.
 */
describe('fuzzing every route from the document (§1)', () => {
  const e2e = setupTestContext();
  let base: string;
  let operations: Operation[];
  const headers: Record<AuthMode, Record<string, string>> = {
    none: {},
    user: {},
    admin: {},
    key: {},
    garbage: { authorization: 'Bearer not.a.token', 'x-api-key': 'mk_garbage' },
  };
  const known: Record<string, string> = {};
  let fingerprintSql: string;

  /** One value per table: its rows, less the columns that move by themselves. */
  async function fingerprint(): Promise<string> {
    const rows: { t: string; h: string }[] = await e2e.app.get(DataSource).query(fingerprintSql);
    return rows.map((row) => `${row.t}:${row.h}`).join(' ');
  }

  beforeAll(async () => {
    const admin = await createPlatformAdmin(e2e.app);
    const owner = await createUser(e2e.app);
    await createPlan(e2e.app, admin, {
      code: 'fuzz',
      meters: [{ meter: 'api_calls', included: 1_000_000, enforcement: 'soft' }],
    });
    known.orgId = await createOrg(e2e.app, owner, { plan: 'fuzz' });
    const key = await createApiKey(e2e.app, owner, known.orgId);
    known.keyId = key.id;
    known.userId = owner.id;
    known.period = '2026-01';
    known.code = 'fuzz';
    known.slug = 'api_calls';
    headers.user = { authorization: `Bearer ${owner.token}` };
    headers.admin = { authorization: `Bearer ${admin.token}` };
    headers.key = { 'x-api-key': key.key };
    base = await listeningUrl(e2e.app);
    operations = operationsOf((await api(e2e.app).get('/docs-json').expect(200)).body);

    const tables: { name: string }[] = await e2e.app.get(DataSource).query(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY 1`,
    );
    fingerprintSql = tables
      .map(({ name }) => {
        const row = ['x', ...(MOVING_COLUMNS[name] ?? [])].reduce(
          (expr, column) => `${expr} - '${column}'`,
          'to_jsonb(x)',
        );
        return `SELECT '${name}' AS t, md5(coalesce(string_agg((${row})::text, ',' ORDER BY (${row})::text), '')) AS h FROM "${name}" x`;
      })
      .join(' UNION ALL ');
  });

  it(`answers ${REQUESTS} generated requests with no 5xx, no 2xx to an invalid body, no change when refused`, async () => {
    expect(operations.length).toBeGreaterThan(40);
    const runsEach = Math.ceil(REQUESTS / operations.length);
    let sent = 0;
    for (const operation of operations) {
      const names = [...operation.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const request = fc.record({
        auth: fc.constantFrom(...AUTH_MODES),
        path: fc.tuple(...names.map((name) => parameterValue(known[name] ?? known.orgId))),
        query: fc.dictionary(
          fc.constantFrom(...operation.query, 'unknownParameter'),
          parameterValue('2026-01-01T00:00:00Z'),
          { maxKeys: 4 },
        ),
        body: bodyFor(operation),
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ auth, path, query, body }) => {
          let url = operation.path;
          names.forEach((name, i) => (url = url.replace(`{${name}}`, encodeComponent(path[i]))));
          const search = Object.entries(query)
            .map(([name, value]) => `${name}=${encodeComponent(value)}`)
            .join('&');
          const before = await fingerprint();
          const res = await fetch(`${base}${url}${search ? `?${search}` : ''}`, {
            method: operation.method.toUpperCase(),
            headers: {
              ...headers[auth],
              ...(body.text === undefined
                ? {}
                : { 'content-type': body.contentType ?? 'application/json' }),
            },
            body: body.text,
          });
          const text = await res.text();
          const answer = text.slice(0, 300);
          sent++;
          const said = `${operation.method.toUpperCase()} ${url} answered ${res.status} ${answer}`;
          if (res.status >= 500) throw new Error(said);
          // Every answer is one the document lists, with the body it describes.
          checkFetchAnswer(operation.method, `${url}?${search}`, res, text);
          // Verify answers a key it does not accept with 200 {valid: false} before reading the body.
          const keyRefused = operation.path === '/v1/verify' && answer.startsWith('{"valid":false');
          if (
            body.kind === 'invalid' &&
            operation.bodyProperties &&
            res.status < 400 &&
            !keyRefused
          )
            throw new Error(`${said} to an invalid body`);
          if (res.status >= 400 && (await fingerprint()) !== before)
            throw new Error(`${said}, yet the database changed`);
        }),
        {
          numRuns: runsEach,
          seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined,
        },
      );
    }
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
  }, 600_000);
});
