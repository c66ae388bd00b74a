import { NestExpressApplication } from '@nestjs/platform-express';
import { expectError, withoutRequestId } from './support/assertions';
import { createUser, PASSWORD, TestUser, uniqueEmail } from './support/factories';
import { api, asUser } from './support/http';
import { EnvOverrides, setupTestContext, TEST_JWT_SECRET } from './support/test-app';

const METRICS_TOKEN = 'metrics-token-of-the-e2e-tests';

describe('HTTP surface', () => {
  // Each group starts the instances it needs, with its own settings.
  const e2e = setupTestContext({ startApp: false });

  describe('TRUST_PROXY (§11)', () => {
    const LIMIT = 3;
    /** An instance whose per-address budget of sign-ups and logins is 3 a minute. */
    const start = (trustProxy: string) =>
      e2e.ctx.startApp({ TRUST_PROXY: trustProxy, AUTH_THROTTLE_PER_IP: String(LIMIT) });
    /** A failed login (401 while the address has budget, then 429), through `forwardedFor`. */
    const login = (app: NestExpressApplication, forwardedFor?: string) => {
      const req = api(app).post('/auth/login');
      if (forwardedFor) req.set('X-Forwarded-For', forwardedFor);
      return req
        .send({ email: uniqueEmail('nobody'), password: PASSWORD })
        .then((res) => res.status);
    };
    const logins = async (app: NestExpressApplication, forwardedFor: string[]) => {
      const statuses: number[] = [];
      for (const header of forwardedFor) statuses.push(await login(app, header));
      return statuses;
    };

    // Every instance of this spec shares the Redis budgets of its addresses (loopback included).
    beforeEach(() => e2e.ctx.flushRedis());

    it('refuses to start with TRUST_PROXY=true, naming the variable', async () => {
      await expect(e2e.ctx.startApp({ TRUST_PROXY: 'true' })).rejects.toThrow(/TRUST_PROXY/);
      await expect(e2e.ctx.startApp({ TRUST_PROXY: ' TRUE ' })).rejects.toThrow(/TRUST_PROXY/);
    });

    it('false: a forged X-Forwarded-For changes nothing, so new addresses do not escape the budget', async () => {
      const app = await start('false');
      const forged = Array.from({ length: LIMIT + 2 }, (_, i) => `203.0.113.${i + 1}`);
      expect(await logins(app, forged)).toEqual([401, 401, 401, 429, 429]);
      expect(await login(app)).toBe(429);
      const res = await api(app).post('/auth/signup').set('X-Forwarded-For', '198.51.100.1');
      expectError(res, 429, 'too_many_requests');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('a hop count (1): the last hop is the client; what it was told before is not believed', async () => {
      const app = await start('1');
      const forged = Array.from({ length: LIMIT + 1 }, (_, i) => `203.0.113.${i + 1}, 10.0.0.1`);
      expect(await logins(app, forged)).toEqual([401, 401, 401, 429]);
      // Another last hop is another client, with a budget of its own.
      expect(await login(app, '203.0.113.1, 10.0.0.2')).toBe(401);
      expect(await login(app, '10.0.0.1')).toBe(429);
    });

    it('a list of proxies: only those are skipped, the first address they did not add is the client', async () => {
      const app = await start('127.0.0.1/32, 10.0.0.0/8');
      // Through two trusted proxies, the client is the address they were given.
      const viaProxies = Array.from({ length: LIMIT }, (_, i) => `198.51.100.7, 10.0.${i}.9`);
      expect(await logins(app, viaProxies)).toEqual([401, 401, 401]);
      expect(await login(app, '198.51.100.7, 10.200.0.1')).toBe(429);
      expect(await login(app, '198.51.100.8, 10.0.0.1')).toBe(401);
      // An untrusted hop (11.1.1.1) is the client: what it forwards is not believed.
      const untrusted = Array.from({ length: LIMIT + 1 }, (_, i) => `192.0.2.${i + 1}, 11.1.1.1`);
      expect(await logins(app, untrusted)).toEqual([401, 401, 401, 429]);
    });

    it('a list without the loopback: the test client is not a trusted proxy, its header is ignored', async () => {
      const app = await start('10.0.0.0/8');
      const forged = Array.from({ length: LIMIT + 1 }, (_, i) => `203.0.113.${i + 1}`);
      expect(await logins(app, forged)).toEqual([401, 401, 401, 429]);
    });
  });

  describe('/metrics (§11)', () => {
    const scrape = (app: NestExpressApplication, authorization?: string) => {
      const req = api(app).get('/metrics');
      return authorization ? req.set('Authorization', authorization) : req;
    };

    it('with METRICS_TOKEN: 401 without the bearer or with a wrong one, 200 with it', async () => {
      const app = await e2e.ctx.startApp({ METRICS_TOKEN });
      for (const authorization of [
        undefined,
        'Bearer wrong-token-of-the-same-size!',
        `Bearer ${METRICS_TOKEN}x`,
        `Basic ${METRICS_TOKEN}`,
        METRICS_TOKEN,
      ]) {
        const res = await scrape(app, authorization);
        expectError(res, 401, 'invalid_token');
        expect(res.text).not.toContain(METRICS_TOKEN);
      }
      const ok = await scrape(app, `Bearer ${METRICS_TOKEN}`).expect(200);
      expect(ok.headers['content-type']).toMatch(/^text\/plain/);
      expect(ok.text).toMatch(/^# HELP /m);
    });

    it('in production without METRICS_TOKEN: 404, as if it did not exist', async () => {
      const production: EnvOverrides = { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET };
      const app = await e2e.ctx.startApp(production);
      const res = await scrape(app);
      expectError(res, 404, 'not_found');
      const missing = await api(app).get('/metricz').expect(404);
      expect(withoutRequestId(res)).toEqual({
        ...withoutRequestId(missing),
        message: 'Cannot GET /metrics',
      });
      expect(missing.body.message).toBe('Cannot GET /metricz');
      await scrape(app, 'Bearer anything-at-all-here').expect(404);
      // With a token, production serves it to the bearer alone.
      const guarded = await e2e.ctx.startApp({ ...production, METRICS_TOKEN });
      await scrape(guarded).expect(401);
      await scrape(guarded, `Bearer ${METRICS_TOKEN}`).expect(200);
    });

    it('outside production without METRICS_TOKEN: open', async () => {
      const app = await e2e.ctx.startApp({ METRICS_TOKEN: undefined });
      const res = await scrape(app).expect(200);
      expect(res.text).toMatch(/^# HELP /m);
    });
  });

  describe("Content-Security-Policy: Swagger UI's inline script is allowed on /docs alone", () => {
    let app: NestExpressApplication;
    let user: TestUser;
    const csp = (res: { headers: Record<string, string> }) =>
      res.headers['content-security-policy'] ?? '';

    beforeAll(async () => {
      await e2e.ctx.flushRedis(); // the loopback's sign-up budget, spent by the groups above
      app = await e2e.ctx.startApp();
      user = await createUser(app);
    });

    it("sends no 'unsafe-inline' on API routes, answers and errors alike", async () => {
      for (const res of [
        await api(app).get('/health').expect(200),
        await api(app).get('/auth/me').expect(401),
        await api(app, asUser(user)).get('/auth/me').expect(200),
        await api(app).get('/docs-json').expect(200),
        await api(app).get('/no/such/route').expect(404),
        await api(app).get('/docsx').expect(404),
      ]) {
        expect(csp(res)).not.toBe('');
        expect(csp(res)).not.toContain('unsafe-inline');
        expect(csp(res)).toMatch(/default-src 'none'/);
      }
    });

    it("allows Swagger UI's inline script on /docs and its assets", async () => {
      const page = await api(app).get('/docs').expect(200);
      expect(csp(page)).toMatch(/script-src 'self' 'unsafe-inline'/);
      const html = page.text;
      const asset = /src="\.?\/?(?:docs\/)?([^"]+\.js)"/.exec(html)?.[1];
      expect(asset).toBeDefined();
      const script = await api(app).get(`/docs/${asset}`).expect(200);
      expect(csp(script)).toMatch(/script-src 'self' 'unsafe-inline'/);
    });
  });
});
