import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Response } from 'supertest';
import { api, asUser, withKey } from './http';

/**
 * Factories for e2e specs: each one makes a thing through the public API, as a client would, and
 * fails loudly (with the status it got) when the API refuses. Use them to build what a test needs;
 * for the call a test is about, write the request in the test with the status it expects.
 * Argument order: the app, who acts, then what is made.
 */

export const PASSWORD = 'correct horse battery staple';

/** For `.expect()`: the answer has `status`, or the failure shows the request and what came back. */
const answers = (status: number) => (res: Response) => {
  if (res.status !== status) {
    const { method, path } = (res as unknown as { req: { method: string; path: string } }).req;
    throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${res.text}`);
  }
};

/** The price of a plan meter: `unitAmount` (a number, or a decimal string) per unit. */
export const flatPrice = (unitAmount: number | string) => ({ model: 'flat', unitAmount });

/** A plan meter that costs nothing. */
export const FREE_PRICE = flatPrice(0);

export type OrgRole = 'owner' | 'admin' | 'member';
export type ApiKeyScope = 'events:write' | 'usage:read' | 'verify';
export interface RateLimit {
  limit: number;
  periodSeconds: number;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  /** A JWT for `asUser(user)`. */
  token: string;
}

export interface TestApiKey {
  id: string;
  /** The full secret, for `withKey(key)`. */
  key: string;
  prefix: string;
  name: string;
  scopes: ApiKeyScope[];
  expiresAt: string | null;
  rateLimit: RateLimit | null;
}

/** An address no other test uses: `<tag>-<random>@example.test`. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.test`;
}

/** Signs up and logs in a fresh user (a unique email unless one is given). */
export async function createUser(
  app: INestApplication,
  { email = uniqueEmail(), password = PASSWORD }: { email?: string; password?: string } = {},
): Promise<TestUser> {
  const signup = await api(app).post('/auth/signup').send({ email, password }).expect(answers(201));
  const login = await api(app).post('/auth/login').send({ email, password }).expect(answers(200));
  return { id: signup.body.id, email: signup.body.email, password, token: login.body.access_token };
}

/** `count` fresh users, made concurrently. */
export function createUsers(app: INestApplication, count: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => createUser(app)));
}

/** The platform admin `TestContext.env()` has every app bootstrap at start. */
export const PLATFORM_ADMIN_EMAIL = 'admin@platform.test';
export const PLATFORM_ADMIN_PASSWORD = 'platform admin password of the tests';

/**
 * A platform admin (manages meters and plans). The one place that knows how one is made: the app
 * creates the account of `PLATFORM_ADMIN_EMAIL` + `PLATFORM_ADMIN_PASSWORD` at start, flagged in
 * Postgres; this logs in as it.
 */
export async function createPlatformAdmin(app: INestApplication): Promise<TestUser> {
  const email = PLATFORM_ADMIN_EMAIL;
  const password = PLATFORM_ADMIN_PASSWORD;
  const login = await api(app).post('/auth/login').send({ email, password }).expect(answers(200));
  const me = await api(app, { Authorization: `Bearer ${login.body.access_token}` })
    .get('/auth/me')
    .expect(answers(200));
  return { id: me.body.id, email, password, token: login.body.access_token };
}

export interface OrgOptions {
  /** 'Acme' when left out. */
  name?: string;
  /** The org is moved to this plan (it starts on free). */
  plan?: string;
  /** Users the owner adds as admins, then as members. */
  admins?: TestUser[];
  members?: TestUser[];
}

/** A new org of `owner`. Returns its id. */
export async function createOrg(
  app: INestApplication,
  owner: TestUser,
  { name = 'Acme', plan, admins = [], members = [] }: OrgOptions = {},
): Promise<string> {
  const res = await api(app, asUser(owner)).post('/orgs').send({ name }).expect(answers(201));
  const orgId: string = res.body.id;
  if (plan)
    await api(app, asUser(owner)).put(`/orgs/${orgId}/plan`).send({ plan }).expect(answers(200));
  for (const user of admins) await addMember(app, owner, orgId, user, 'admin');
  for (const user of members) await addMember(app, owner, orgId, user, 'member');
  return orgId;
}

/** Adds `user` to the org with `role`, as `by` (an owner or admin of it). */
export async function addMember(
  app: INestApplication,
  by: TestUser,
  orgId: string,
  user: TestUser,
  role: OrgRole,
): Promise<void> {
  await api(app, asUser(by))
    .post(`/orgs/${orgId}/members`)
    .send({ email: user.email, role })
    .expect(answers(201));
}

export interface ApiKeyOptions {
  name?: string;
  /** All scopes when left out (the API's default). */
  scopes?: ApiKeyScope[];
  /** The org plan's limit when left out. */
  rateLimit?: RateLimit;
  expiresAt?: Date | string;
}

/** Issues an API key of the org, as `by` (an owner or admin of it). */
export async function createApiKey(
  app: INestApplication,
  by: TestUser,
  orgId: string,
  { name = 'test key', expiresAt, ...rest }: ApiKeyOptions = {},
): Promise<TestApiKey> {
  const res = await api(app, asUser(by))
    .post(`/orgs/${orgId}/api-keys`)
    .send({
      name,
      ...rest,
      ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
    })
    .expect(answers(201));
  return res.body;
}

/** A new org of `owner` (see createOrg) with one API key (see createApiKey). */
export async function createOrgWithKey(
  app: INestApplication,
  owner: TestUser,
  org: OrgOptions = {},
  key: ApiKeyOptions = {},
): Promise<{ orgId: string; key: string }> {
  const orgId = await createOrg(app, owner, org);
  return { orgId, key: (await createApiKey(app, owner, orgId, key)).key };
}

export interface MeterOptions {
  slug: string;
  aggregation: string;
  /** The slug when left out. */
  name?: string;
  valueProperty?: string;
  groupBy?: readonly string[];
}

/** Creates a meter of the catalogue, as a platform admin. */
export async function createMeter(
  app: INestApplication,
  admin: TestUser,
  { name, ...meter }: MeterOptions,
): Promise<MeterOptions & { name: string }> {
  const res = await api(app, asUser(admin))
    .post('/admin/meters')
    .send({ name: name ?? meter.slug, ...meter })
    .expect(answers(201));
  return res.body;
}

export interface PlanMeterOptions {
  meter: string;
  included: number;
  enforcement: 'hard' | 'soft';
  /** `FREE_PRICE` when left out. */
  price?: unknown;
}

export interface PlanOptions {
  code: string;
  meters: PlanMeterOptions[];
  /** The code when left out. */
  name?: string;
  currency?: string;
  baseFee?: number;
  /** 10,000 a second when left out: high enough to stay out of a test's way. */
  rateLimit?: RateLimit;
}

/** Creates a plan of the catalogue, as a platform admin: USD, no base fee, free meters by default. */
export async function createPlan(
  app: INestApplication,
  admin: TestUser,
  { code, meters, name = code, currency = 'USD', baseFee = 0, rateLimit }: PlanOptions,
): Promise<PlanOptions> {
  const res = await api(app, asUser(admin))
    .post('/admin/plans')
    .send({
      code,
      name,
      currency,
      baseFee,
      rateLimit: rateLimit ?? { limit: 10_000, periodSeconds: 1 },
      meters: meters.map(({ price = FREE_PRICE, ...meter }) => ({ ...meter, price })),
    })
    .expect(answers(201));
  return res.body;
}

/** Ingests a batch of usage events with an API key (202). */
export async function sendEvents(
  app: INestApplication,
  key: string,
  events: Record<string, unknown>[],
): Promise<{ accepted: number; duplicates: number }> {
  const res = await api(app, withKey(key)).post('/v1/events').send({ events }).expect(answers(202));
  return res.body;
}
