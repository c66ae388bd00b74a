import { randomBytes } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { PASSWORD, uniqueEmail } from './support/factories';
import { api, asUser } from './support/http';
import {
  DisposableRedis,
  describeWithRedis,
  sharedRedisKeys,
  withRedis,
} from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';
import { expectError } from './support/assertions';

const WRONG = 'not the password at all';

/** A fresh client address per use, so that per-address budgets never leak between tests (Redis
 * keeps them across app instances of this spec). Needs TRUST_PROXY to trust the loopback proxy the tests play. */
let addressCounter = 0;
const freshAddress = () =>
  `10.${randomBytes(1)[0]}.${Math.floor(++addressCounter / 250)}.${(addressCounter % 250) + 1}`;

interface Client {
  signup(email: string, password?: string): request.Test;
  login(email: string, password: string): request.Test;
  formLogin(email: string, password: string): request.Test;
}

/** Requests to one app, from one client address when `address` is given (TRUST_PROXY=loopback). */
function client(app: NestExpressApplication, address?: string): Client {
  const from = (test: request.Test) => (address ? test.set('X-Forwarded-For', address) : test);
  return {
    signup: (email, password = PASSWORD) =>
      from(api(app).post('/auth/signup')).send({ email, password }),
    login: (email, password) => from(api(app).post('/auth/login')).send({ email, password }),
    formLogin: (email, password) =>
      from(api(app).post('/auth/login')).type('form').send({ username: email, password }),
  };
}

function expectTooManyRequests(res: request.Response, code: string, maxRetryAfter: number): void {
  expectError(res, 429, code);
  expect(res.body.error).toBe('Too Many Requests');
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfter);
}

/** Milliseconds a request took, and its answer. */
async function timed(test: request.Test): Promise<{ ms: number; res: request.Response }> {
  const started = performance.now();
  const res = await test;
  return { ms: performance.now() - started, res };
}

describe('auth throttling', () => {
  // Each group starts the instances it needs, with its own limits.
  const e2e = setupTestContext({ startApp: false });

  describe('failed logins per email (LOGIN_FAILURES_PER_EMAIL=3)', () => {
    let auth: Client;

    beforeAll(async () => {
      auth = client(await e2e.ctx.startApp({ LOGIN_FAILURES_PER_EMAIL: '3' }));
    });

    it('answers 401 to three wrong passwords, then 429 even to the right one', async () => {
      const email = uniqueEmail('blocked');
      await auth.signup(email).expect(201);
      for (let i = 0; i < 3; i++) {
        const res = await auth.login(email, WRONG).expect(401);
        expect(res.body.code).toBe('invalid_credentials');
      }
      expectTooManyRequests(await auth.login(email, PASSWORD), 'too_many_failed_logins', 900);
      expectTooManyRequests(await auth.formLogin(email, PASSWORD), 'too_many_failed_logins', 900);
      expectTooManyRequests(await auth.login(email, WRONG), 'too_many_failed_logins', 900);
    });

    it('leaves other emails alone', async () => {
      const blocked = uniqueEmail('blocked');
      const other = uniqueEmail('other');
      await auth.signup(blocked).expect(201);
      await auth.signup(other).expect(201);
      for (let i = 0; i < 3; i++) await auth.login(blocked, WRONG).expect(401);
      await auth.login(blocked, PASSWORD).expect(429);
      await auth.login(other, WRONG).expect(401);
      await auth.login(other, PASSWORD).expect(200);
    });

    it('never counts successful logins: five in a row with a limit of 3', async () => {
      const email = uniqueEmail('happy');
      await auth.signup(email).expect(201);
      for (let i = 0; i < 5; i++) await auth.login(email, PASSWORD).expect(200);
    });

    it('clears the count on a success', async () => {
      const email = uniqueEmail('forgetful');
      await auth.signup(email).expect(201);
      for (let round = 0; round < 3; round++) {
        await auth.login(email, WRONG).expect(401);
        await auth.login(email, WRONG).expect(401);
        await auth.login(email, PASSWORD).expect(200);
      }
      for (let i = 0; i < 3; i++) await auth.login(email, WRONG).expect(401);
      await auth.login(email, PASSWORD).expect(429);
    });

    it('treats an unknown email exactly like a known one (no hint that an account exists)', async () => {
      const unknown = uniqueEmail('nobody');
      for (let i = 0; i < 3; i++) {
        const res = await auth.login(unknown, WRONG).expect(401);
        expect(res.body.code).toBe('invalid_credentials');
      }
      expectTooManyRequests(await auth.login(unknown, WRONG), 'too_many_failed_logins', 900);
    });

    it('counts the spellings of one email together (trimmed, lower-cased)', async () => {
      const email = uniqueEmail('spelled');
      await auth.signup(email).expect(201);
      await auth.login(email.toUpperCase(), WRONG).expect(401);
      await auth.formLogin(`  ${email} `, WRONG).expect(401);
      await auth.login(email, WRONG).expect(401);
      await auth.login(email, PASSWORD).expect(429);
    });

    it('lets exactly the limit through when guesses arrive all at once', async () => {
      const email = uniqueEmail('burst');
      await auth.signup(email).expect(201);
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => auth.login(email, WRONG).then((res) => res.status)),
      );
      expect(answers.filter((s) => s === 401)).toHaveLength(3);
      expect(answers.filter((s) => s === 429)).toHaveLength(9);
    });
  });

  describe('requests per client address (AUTH_THROTTLE_PER_IP=5)', () => {
    let app: NestExpressApplication;

    beforeAll(async () => {
      app = await e2e.ctx.startApp({
        AUTH_THROTTLE_PER_IP: '5',
        LOGIN_FAILURES_PER_EMAIL: '100',
        TRUST_PROXY: 'loopback',
      });
    });

    it('answers the 6th sign-up or login from one address in a minute with 429', async () => {
      const auth = client(app, freshAddress());
      const email = uniqueEmail('busy');
      await auth.signup(email).expect(201);
      await auth.signup(uniqueEmail('busy')).expect(201);
      await auth.login(email, PASSWORD).expect(200);
      await auth.login(email, WRONG).expect(401);
      await auth.formLogin(email, PASSWORD).expect(200);
      expectTooManyRequests(await auth.login(email, PASSWORD), 'too_many_requests', 60);
      expectTooManyRequests(await auth.signup(uniqueEmail('busy')), 'too_many_requests', 60);
      // Another address is unaffected.
      await client(app, freshAddress()).login(email, PASSWORD).expect(200);
    });

    it('refuses a throttled login before its password is checked (it does not count as a failure)', async () => {
      const strict = await e2e.ctx.startApp({
        AUTH_THROTTLE_PER_IP: '2',
        LOGIN_FAILURES_PER_EMAIL: '3',
        TRUST_PROXY: 'loopback',
      });
      const email = uniqueEmail('double');
      await client(strict, freshAddress()).signup(email).expect(201);
      const first = client(strict, freshAddress());
      await first.login(email, WRONG).expect(401);
      await first.login(email, WRONG).expect(401);
      expectTooManyRequests(await first.login(email, WRONG), 'too_many_requests', 60);
      // Had the throttled attempt been checked, this would be the 4th failure: 429.
      await client(strict, freshAddress()).login(email, WRONG).expect(401);
      expectTooManyRequests(
        await client(strict, freshAddress()).login(email, PASSWORD),
        'too_many_failed_logins',
        900,
      );
    });

    it('never throttles /auth/me', async () => {
      const address = freshAddress();
      const auth = client(app, address);
      const email = uniqueEmail('me');
      await auth.signup(email).expect(201);
      const { body } = await auth.login(email, PASSWORD).expect(200);
      for (let i = 0; i < 5; i++) await auth.login(email, PASSWORD);
      await auth.login(email, PASSWORD).expect(429);
      for (let i = 0; i < 20; i++) {
        await api(app, asUser({ token: body.access_token }))
          .get('/auth/me')
          .set('X-Forwarded-For', address)
          .expect(200);
      }
    });
  });

  describeWithRedis('on a shared Redis', () => {
    // Logins of both instances go through passport-local's process-wide strategy (the last app's),
    // so what this proves is that the count lives in Redis (the key below), which every instance reads.
    it('shares the failed-login count of an email between instances', async () => {
      const env = { LOGIN_FAILURES_PER_EMAIL: '4' };
      const one = client(await e2e.ctx.startApp(env));
      const two = client(await e2e.ctx.startApp(env));
      const email = uniqueEmail('split');
      await one.signup(email).expect(201);
      await one.login(email, WRONG).expect(401);
      await two.login(email, WRONG).expect(401);
      await one.login(email, WRONG).expect(401);
      await two.login(email, WRONG).expect(401);
      expectTooManyRequests(await one.login(email, PASSWORD), 'too_many_failed_logins', 900);
      expectTooManyRequests(await two.login(email, PASSWORD), 'too_many_failed_logins', 900);

      // Counted under a hash: no email (or part of one) in any Redis key.
      const keys = await sharedRedisKeys(`${e2e.ctx.redisPrefix}*`);
      expect(keys.some((key) => /login-failures:[0-9a-f]{64}$/.test(key))).toBe(true);
      expect(keys.filter((key) => key.includes('split') || key.includes('@'))).toEqual([]);
    });

    it('shares the per-address budget between instances', async () => {
      const env = { AUTH_THROTTLE_PER_IP: '4', TRUST_PROXY: 'loopback' };
      const address = freshAddress();
      const one = client(await e2e.ctx.startApp(env), address);
      const two = client(await e2e.ctx.startApp(env), address);
      await one.signup(uniqueEmail('shared')).expect(201);
      await two.signup(uniqueEmail('shared')).expect(201);
      await one.login(uniqueEmail('shared'), WRONG).expect(401);
      await two.login(uniqueEmail('shared'), WRONG).expect(401);
      expectTooManyRequests(await one.signup(uniqueEmail('shared')), 'too_many_requests', 60);
      expectTooManyRequests(await two.login(uniqueEmail('shared'), WRONG), 'too_many_requests', 60);
    });

    describe('when Redis fails', () => {
      let redis: DisposableRedis;
      let app: NestExpressApplication;
      let auth: Client;
      let email: string;

      beforeAll(async () => {
        redis = await DisposableRedis.start();
        app = await e2e.ctx.startApp({
          REDIS_URL: redis.url,
          LOGIN_FAILURES_PER_EMAIL: '3',
          AUTH_THROTTLE_PER_IP: '1000',
        });
        auth = client(app);
        email = uniqueEmail('outage');
        await auth.signup(email).expect(201);
        await auth.login(email, PASSWORD).expect(200);
      });
      afterAll(async () => {
        await app.close();
        await redis.stop();
      });

      const loginFailureKeys = () =>
        withRedis(
          redis.url,
          async (admin) => {
            await admin.connect();
            return admin.keys(`${e2e.ctx.redisPrefix}login-failures:*`);
          },
          { lazyConnect: true, maxRetriesPerRequest: 0 },
        );

      it('still answers sign-up and login (never 500) within 1 s while Redis is down, and recovers', async () => {
        await redis.stop();
        for (const [test, status] of [
          [auth.login(email, WRONG), 401],
          [auth.login(email, PASSWORD), 200],
          [auth.signup(uniqueEmail('outage')), 201],
        ] as const) {
          const { ms, res } = await timed(test);
          expect(res.status).toBe(status);
          expect(ms).toBeLessThan(1000);
        }
        // Meanwhile failed logins are still limited, in this instance's memory.
        const local = uniqueEmail('outage-local');
        for (let i = 0; i < 3; i++) await auth.login(local, WRONG).expect(401);
        expectTooManyRequests(await auth.login(local, PASSWORD), 'too_many_failed_logins', 900);

        // Back on Redis by itself once it returns.
        await redis.resume();
        const after = uniqueEmail('outage-after');
        const answers: number[] = [];
        await eventually(
          async () => {
            answers.push((await auth.login(after, WRONG)).status);
            expect((await loginFailureKeys()).length).toBeGreaterThan(0);
          },
          { timeoutMs: 10_000, intervalMs: 200 },
        );
        expect(answers.every((status) => status === 401)).toBe(true);
      });

      it('does not wait on a Redis that has stopped answering', async () => {
        await redis.resume();
        // Commands from every client hang for 3 s, as with a stalled server or a network hole.
        await withRedis(redis.url, (admin) => admin.call('CLIENT', 'PAUSE', '3000', 'ALL'));
        const wrong = await timed(auth.login(email, WRONG));
        expect(wrong.res.status).toBe(401);
        expect(wrong.ms).toBeLessThan(1000);
        const right = await timed(auth.login(email, PASSWORD));
        expect(right.res.status).toBe(200);
        expect(right.ms).toBeLessThan(1000);
      });
    });
  });
});
