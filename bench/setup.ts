/**
 * What the scenarios need, created over HTTP as a customer and the operator would: the platform
 * admin, the meters and plan `bench`, two orgs on it (one loaded by the scenarios, one holding
 * the seeded month for the summary) and their API keys.
 */
export interface BenchSetup {
  /** The platform admin's JWT; the admin owns both orgs. */
  token: string;
  orgId: string;
  /** Secret of the loaded org's key (every scope, no rate limit of its own). */
  apiKey: string;
  summaryOrgId: string;
  /** Id of the summary org's key, recorded on the seeded events as ingestion would. */
  summaryKeyId: string;
}

/** The meters of B4, one per kind of aggregation the summary answers differently. */
export const SUMMARY_METERS = {
  count: 'api_calls',
  sum: 'tokens',
  unique: 'active_users',
} as const;
export const SUM_PROPERTY = 'tokens';
export const UNIQUE_PROPERTY = 'user';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One JSON call; `accept` lists the statuses that are not errors (409 for "already there"). */
export async function call<T>(
  base: string,
  method: string,
  path: string,
  options: {
    body?: object;
    token?: string;
    headers?: Record<string, string>;
    accept?: number[];
  } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body) headers['content-type'] = 'application/json';
  const body = options.body && JSON.stringify(options.body);
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  if (!res.ok && !options.accept?.includes(res.status))
    throw new HttpError(res.status, `${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Today the admin signs up with an email listed in PLATFORM_ADMIN_EMAILS; soon the server creates
 * the account itself from PLATFORM_ADMIN_EMAIL/PASSWORD and signup answers 409. Both end in the
 * same login.
 */
export async function adminToken(base: string, admin: { email: string; password: string }) {
  await call(base, 'POST', '/auth/signup', { body: admin, accept: [409] });
  const login = await call<{ access_token: string }>(base, 'POST', '/auth/login', { body: admin });
  return login.access_token;
}

/** An org on `plan`, and a key without a rate limit of its own (the plan's is shared). */
export async function orgWithKey(base: string, token: string, name: string, plan = 'bench') {
  const org = await call<{ id: string }>(base, 'POST', '/orgs', { body: { name }, token });
  await call(base, 'PUT', `/orgs/${org.id}/plan`, { body: { plan }, token });
  const key = await call<{ id: string; key: string }>(base, 'POST', `/orgs/${org.id}/api-keys`, {
    body: { name: 'bench' },
    token,
  });
  return { orgId: org.id, keyId: key.id, key: key.key };
}

export async function setUp(
  base: string,
  admin: { email: string; password: string },
): Promise<BenchSetup> {
  const auth = { token: await adminToken(base, admin) };
  for (const meter of [
    { slug: SUMMARY_METERS.sum, name: 'Tokens', aggregation: 'sum', valueProperty: SUM_PROPERTY },
    {
      slug: SUMMARY_METERS.unique,
      name: 'Active users',
      aggregation: 'unique_count',
      valueProperty: UNIQUE_PROPERTY,
    },
  ])
    await call(base, 'POST', '/admin/meters', { body: meter, ...auth, accept: [409] });
  // Soft quotas: nothing is refused and nothing charges a hard quota on the request path, so the
  // scenarios measure the metering itself. The rate limit is far above what the machine serves;
  // it belongs to the org's plan because soon a key's own limit may not exceed the plan's.
  const soft = (meter: string) => ({
    meter,
    included: 1_000_000_000_000,
    enforcement: 'soft',
    price: { model: 'flat', unitAmount: 0 },
  });
  const plan = {
    code: 'bench',
    name: 'Bench',
    currency: 'USD',
    baseFee: 0,
    rateLimit: { limit: 1_000_000, periodSeconds: 1 },
    meters: Object.values(SUMMARY_METERS).map(soft),
  };
  await call(base, 'POST', '/admin/plans', { body: plan, ...auth });
  const loaded = await orgWithKey(base, auth.token, 'Bench');
  const summary = await orgWithKey(base, auth.token, 'Bench summary');
  return {
    token: auth.token,
    orgId: loaded.orgId,
    apiKey: loaded.key,
    summaryOrgId: summary.orgId,
    summaryKeyId: summary.keyId,
  };
}
