import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { expectError, UUID } from './support/assertions';
import { createUser, PASSWORD, TestUser, uniqueEmail } from './support/factories';
import { api } from './support/http';
import { setupTestContext } from './support/test-app';

describe('auth', () => {
  const e2e = setupTestContext();
  let ann: TestUser;

  // The routes under test; each test states the status it expects.
  const signup = (body: unknown) =>
    api(e2e.app)
      .post('/auth/signup')
      .send(body as object);
  const postRaw = (path: string, contentType: string, body: string) =>
    api(e2e.app, { 'Content-Type': contentType }).post(path).send(body);

  beforeAll(async () => {
    ann = await createUser(e2e.app, { email: uniqueEmail('ann') });
  });

  describe('POST /auth/signup', () => {
    it('creates a user: 201 {id, email, createdAt} and nothing else', async () => {
      const email = uniqueEmail('new');
      const res = await signup({ email, password: PASSWORD }).expect(201);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'email', 'id']);
      expect(res.body.id).toMatch(UUID);
      expect(res.body.email).toBe(email);
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
      expect(Math.abs(Date.parse(res.body.createdAt) - Date.now())).toBeLessThan(60_000);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('never returns the password or its hash', async () => {
      const password = `Secret-${randomBytes(8).toString('hex')}`;
      const res = await signup({ email: uniqueEmail('secretless'), password }).expect(201);
      expect(res.text).not.toContain(password);
      expect(res.text).not.toContain('$argon2');
      expect(res.text).not.toMatch(/password|hash/i);
    });

    it.each([
      [10, 201],
      [128, 201],
      [9, 400],
      [129, 400],
      [0, 400],
    ])('a password of %d characters answers %d', async (length, status) => {
      const res = await signup({
        email: uniqueEmail(`len${length}`),
        password: 'p'.repeat(length),
      });
      expect(res.status).toBe(status);
      if (status === 400) {
        expectError(res, 400, 'validation_failed');
        expect(res.body.message).toEqual([expect.stringMatching(/^password /)]);
      }
    });

    it('a user signed up with a 128-character password can log in with it', async () => {
      const email = uniqueEmail('long');
      const password = 'x'.repeat(127) + 'y';
      await signup({ email, password }).expect(201);
      await api(e2e.app).post('/auth/login').send({ email, password }).expect(200);
    });

    it.each([
      'not-an-email',
      'ann@',
      '@example.com',
      'ann example@example.com',
      '',
      `${'a'.repeat(250)}@example.com`,
    ])('rejects the email %j with 400 validation_failed', async (email) => {
      const res = await signup({ email, password: PASSWORD }).expect(400);
      expectError(res, 400, 'validation_failed');
      expect(res.body.message.some((m: string) => m.startsWith('email '))).toBe(true);
    });

    it.each([42, null, true, ['a@b.io'], { address: 'a@b.io' }])(
      'rejects a non-string email %j with 400, not 500',
      async (email) => {
        const res = await signup({ email, password: PASSWORD }).expect(400);
        expectError(res, 400, 'validation_failed');
      },
    );

    it('rejects a non-string password with 400', async () => {
      const res = await signup({ email: uniqueEmail('num'), password: 12345678901 }).expect(400);
      expectError(res, 400, 'validation_failed');
      expect(res.body.message.some((m: string) => m.startsWith('password '))).toBe(true);
    });

    it('lists every problem when fields are missing', async () => {
      const res = await signup({}).expect(400);
      expectError(res, 400, 'validation_failed');
      expect(Array.isArray(res.body.message)).toBe(true);
      expect(res.body.message.some((m: string) => m.startsWith('email '))).toBe(true);
      expect(res.body.message.some((m: string) => m.startsWith('password '))).toBe(true);
    });

    it('lists every problem at once: bad email, short password and an unknown field', async () => {
      const res = await signup({ email: 'nope', password: 'short', role: 'admin' }).expect(400);
      expectError(res, 400, 'validation_failed');
      const messages: string[] = res.body.message;
      expect(messages.some((m) => m.startsWith('email '))).toBe(true);
      expect(messages.some((m) => m.startsWith('password '))).toBe(true);
      expect(messages).toContain('property role should not exist');
    });

    it('rejects an unknown field even when everything else is valid, and stores nothing', async () => {
      const email = uniqueEmail('unknown');
      const res = await signup({ email, password: PASSWORD, isAdmin: true }).expect(400);
      expectError(res, 400, 'validation_failed');
      expect(res.body.message).toEqual(['property isAdmin should not exist']);
      // Nothing half-written: the same email can still sign up.
      await signup({ email, password: PASSWORD }).expect(201);
    });

    it.each([
      ['a JSON array', '[]'],
      ['a JSON array of objects', '[{"email":"a@b.io","password":"0123456789"}]'],
    ])('rejects %s as the body with 400', async (_label, body) => {
      const res = await postRaw('/auth/signup', 'application/json', body).expect(400);
      expect(res.body.statusCode).toBe(400);
      expect(res.body.code).toEqual(expect.any(String));
    });

    it.each(['{"email": "a@b.io", "password": ', '{email: 1}', 'null', '"just a string"'])(
      'answers malformed JSON %j with 400 malformed_json',
      async (body) => {
        const res = await postRaw('/auth/signup', 'application/json', body).expect(400);
        expectError(res, 400, 'malformed_json');
      },
    );

    it('stores an argon2id hash (OWASP parameters or stronger), never the password', async () => {
      const email = uniqueEmail('stored');
      const password = `Stored-${randomBytes(8).toString('hex')}`;
      const res = await signup({ email, password }).expect(201);
      const [row] = await e2e.app
        .get(DataSource)
        .query('SELECT email, password_hash AS "hash" FROM users WHERE id = $1', [res.body.id]);
      expect(row.email).toBe(email);
      expect(row.hash).not.toContain(password);
      // PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$hash (parameter order varies by library).
      const [, algorithm, , parameters] = (row.hash as string).split('$');
      expect(algorithm).toBe('argon2id');
      const params = Object.fromEntries(
        parameters.split(',').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])]),
      );
      expect(params.m).toBeGreaterThanOrEqual(19_456);
      expect(params.t).toBeGreaterThanOrEqual(2);
      expect(params.p).toBeGreaterThanOrEqual(1);
    });

    it('trims and lower-cases the email before storing it', async () => {
      const local = `Mixed.Case-${randomBytes(3).toString('hex')}`;
      const res = await signup({
        email: `  ${local}@Example.COM \t`,
        password: PASSWORD,
      }).expect(201);
      expect(res.body.email).toBe(`${local.toLowerCase()}@example.com`);
    });

    it('refuses a duplicate email in another letter case with 409 email_taken', async () => {
      const email = uniqueEmail('dup');
      await signup({ email, password: PASSWORD }).expect(201);
      for (const variant of [email, email.toUpperCase(), `  ${email.replace(/^d/, 'D')} `]) {
        const res = await signup({ email: variant, password: 'another password 1' }).expect(409);
        expectError(res, 409, 'email_taken');
      }
    });

    it('lets exactly one of two concurrent signups with one email win; the other is 409', async () => {
      const email = uniqueEmail('race');
      const results = await Promise.all([
        signup({ email, password: PASSWORD }),
        signup({ email: email.toUpperCase(), password: PASSWORD }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(results.find((r) => r.status === 409)!.body.code).toBe('email_taken');
    });
  });

  describe('HTTP conventions', () => {
    it('answers a text/plain body with 415', async () => {
      const res = await postRaw(
        '/auth/signup',
        'text/plain',
        JSON.stringify({ email: uniqueEmail('plain'), password: PASSWORD }),
      ).expect(415);
      expectError(res, 415, 'unsupported_media_type');
    });

    it('answers a form body on a JSON-only route with 415', async () => {
      const res = await api(e2e.app)
        .post('/auth/signup')
        .type('form')
        .send({ email: uniqueEmail('form'), password: PASSWORD })
        .expect(415);
      expectError(res, 415, 'unsupported_media_type');
    });

    it('answers text/plain on the login route with 415', async () => {
      const res = await postRaw(
        '/auth/login',
        'text/plain',
        `username=${ann.email}&password=${ann.password}`,
      ).expect(415);
      expectError(res, 415, 'unsupported_media_type');
    });

    it('answers a JSON body over 1 MB with 413', async () => {
      const body = JSON.stringify({
        email: uniqueEmail('big'),
        password: PASSWORD,
        padding: 'x'.repeat(1024 * 1024),
      });
      const res = await postRaw('/auth/signup', 'application/json', body).expect(413);
      expectError(res, 413, 'payload_too_large');
    });

    it('reads a JSON body just under 1 MB (and then rejects the unknown field with 400)', async () => {
      const res = await signup({
        email: uniqueEmail('almost'),
        password: PASSWORD,
        padding: 'x'.repeat(1000 * 1000),
      }).expect(400);
      expectError(res, 400, 'validation_failed');
    });

    it('echoes the X-Request-Id the client sent', async () => {
      const id = `req-${randomBytes(6).toString('hex')}`;
      const res = await api(e2e.app).get('/auth/me').set('X-Request-Id', id).expect(401);
      expect(res.headers['x-request-id']).toBe(id);
      const ok = await api(e2e.app)
        .get('/auth/me')
        .set('Authorization', `Bearer ${ann.token}`)
        .set('X-Request-Id', id)
        .expect(200);
      expect(ok.headers['x-request-id']).toBe(id);
    });

    it('generates a distinct X-Request-Id when none (or an unusable one) was sent', async () => {
      const [a, b, c] = await Promise.all([
        api(e2e.app).get('/health'),
        api(e2e.app).get('/health'),
        api(e2e.app).get('/health').set('X-Request-Id', 'has spaces and \u00e9 accents'),
      ]);
      expect(a.headers['x-request-id']).toMatch(UUID);
      expect(b.headers['x-request-id']).toMatch(UUID);
      expect(c.headers['x-request-id']).toMatch(UUID);
      expect(new Set([a, b, c].map((r) => r.headers['x-request-id'])).size).toBe(3);
    });

    it('puts an X-Request-Id on every answer, errors of the body parsers included', async () => {
      const id = `req-${randomBytes(6).toString('hex')}`;
      const answers = await Promise.all([
        api(e2e.app)
          .post('/auth/signup')
          .set('X-Request-Id', id)
          .set('Content-Type', 'text/plain')
          .send('x'),
        api(e2e.app)
          .post('/auth/signup')
          .set('X-Request-Id', id)
          .set('Content-Type', 'application/json')
          .send('{'),
        api(e2e.app)
          .post('/auth/signup')
          .set('X-Request-Id', id)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1) })),
        api(e2e.app).post('/auth/signup').set('X-Request-Id', id).send({}),
        api(e2e.app).get('/no/such/route').set('X-Request-Id', id),
      ]);
      expect(answers.map((r) => r.status)).toEqual([415, 400, 413, 400, 404]);
      for (const res of answers) expect(res.headers['x-request-id']).toBe(id);
    });

    it('never sends X-Powered-By, and sends helmet security headers', async () => {
      for (const res of [
        await api(e2e.app).get('/health'),
        await api(e2e.app).get('/auth/me'),
        await api(e2e.app).post('/auth/signup').send({}),
      ]) {
        expect(res.headers['x-powered-by']).toBeUndefined();
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
    });

    it('answers an unknown route with 404 in the error shape', async () => {
      const res = await api(e2e.app).get('/no/such/route').expect(404);
      expectError(res, 404, 'not_found');
      expect(res.body.error).toBe('Not Found');
    });

    it.each([
      [400, 'Bad Request'],
      [401, 'Unauthorized'],
      [409, 'Conflict'],
      [413, 'Payload Too Large'],
      [415, 'Unsupported Media Type'],
    ])('names status %d with the reason phrase %j', async (status, phrase) => {
      const requests: Record<number, () => ReturnType<typeof signup>> = {
        400: () => signup({}),
        401: () => api(e2e.app).get('/auth/me'),
        409: () => signup({ email: ann.email, password: PASSWORD }),
        413: () =>
          postRaw(
            '/auth/signup',
            'application/json',
            JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1) }),
          ),
        415: () => postRaw('/auth/signup', 'text/plain', 'x'),
      };
      const res = await requests[status]().expect(status);
      expect(res.body.statusCode).toBe(status);
      expect(res.body.error).toBe(phrase);
    });
  });
});
