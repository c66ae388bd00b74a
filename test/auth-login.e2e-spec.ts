import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { JWT_AUDIENCE, JWT_ISSUER } from '../src/auth/jwt.strategy';
import { DEVELOPMENT_JWT_SECRET } from '../src/config/configuration';
import { expectError, withoutRequestId } from './support/assertions';
import { createUser, TestUser, uniqueEmail } from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext, TEST_JWT_SECRET } from './support/test-app';
import { eventually } from './support/time';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('auth', () => {
  const e2e = setupTestContext();
  let ann: TestUser;

  // The routes under test; each test states the status it expects.
  const login = (body: object) => api(e2e.app).post('/auth/login').send(body);
  const formLogin = (fields: object) => api(e2e.app).post('/auth/login').type('form').send(fields);
  const me = (authorization?: string) => {
    const headers: Record<string, string> =
      authorization === undefined ? {} : { Authorization: authorization };
    return api(e2e.app, headers).get('/auth/me');
  };

  beforeAll(async () => {
    ann = await createUser(e2e.app, { email: uniqueEmail('ann') });
  });

  describe('POST /auth/login', () => {
    it('accepts the OAuth2 password form (username, password)', async () => {
      const res = await formLogin({ username: ann.email, password: ann.password }).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(res.body.token_type).toBe('bearer');
      expect(res.body.expires_in).toBe(3600);
      await me(`Bearer ${res.body.access_token}`).expect(200);
    });

    it('accepts the form with grant_type=password and the optional OAuth2 fields', async () => {
      const res = await formLogin({
        grant_type: 'password',
        username: ann.email,
        password: ann.password,
        scope: '',
        client_id: 'swagger-ui',
      }).expect(200);
      expect(res.body.token_type).toBe('bearer');
    });

    it("accepts the form as Swagger UI's Authorize posts it, client credentials blank", async () => {
      // Client credentials in the Authorization header (Basic of ":") or in the body, both empty.
      const fields = { grant_type: 'password', username: ann.email, password: ann.password };
      const inHeader = await api(e2e.app, { Authorization: 'Basic Og==' })
        .post('/auth/login')
        .type('form')
        .send({ ...fields, scope: '' })
        .expect(200);
      expect(inHeader.body.token_type).toBe('bearer');
      const inBody = await formLogin({ ...fields, client_id: '', client_secret: '' }).expect(200);
      await me(`Bearer ${inBody.body.access_token}`).expect(200);
    });

    it('refuses a grant_type other than password with 400', async () => {
      const res = await formLogin({
        grant_type: 'client_credentials',
        username: ann.email,
        password: ann.password,
      }).expect(400);
      expect(res.body.statusCode).toBe(400);
      expect(res.body.access_token).toBeUndefined();
    });

    it('accepts JSON {email, password}', async () => {
      const res = await login({ email: ann.email, password: ann.password }).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(res.body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
      const self = await me(`Bearer ${res.body.access_token}`).expect(200);
      expect(self.body.id).toBe(ann.id);
    });

    it('issues an HS256 token for the user, expiring after JWT_EXPIRES_MINUTES', async () => {
      const res = await login({ email: ann.email, password: ann.password }).expect(200);
      const [header, payload] = (res.body.access_token as string)
        .split('.')
        .slice(0, 2)
        .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
      expect(header.alg).toBe('HS256');
      expect(payload.sub).toBe(ann.id);
      expect(payload.exp - payload.iat).toBe(3600);
      expect(JSON.stringify(payload)).not.toMatch(/password|hash/i);
    });

    it('normalises the email it is given (JSON and form)', async () => {
      const shouted = `  ${ann.email.toUpperCase()} `;
      await login({ email: shouted, password: ann.password }).expect(200);
      await formLogin({ username: shouted, password: ann.password }).expect(200);
    });

    it('gives a wrong password and an unknown email the identical 401', async () => {
      const wrongPassword = await login({
        email: ann.email,
        password: 'wrong password 123',
      }).expect(401);
      const unknownEmail = await login({
        email: uniqueEmail('ghost'),
        password: ann.password,
      }).expect(401);
      const wrongPasswordForm = await formLogin({
        username: ann.email,
        password: 'wrong password 123',
      }).expect(401);
      expectError(wrongPassword, 401, 'invalid_credentials');
      expect(withoutRequestId(unknownEmail)).toEqual(withoutRequestId(wrongPassword));
      expect(withoutRequestId(wrongPasswordForm)).toEqual(withoutRequestId(wrongPassword));
      expect(wrongPassword.text).not.toContain(ann.email);
    });

    it('takes about as long for an unknown email as for a wrong password', async () => {
      const time = async (email: string) => {
        const started = process.hrtime.bigint();
        await login({ email, password: 'wrong password 123' }).expect(401);
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 3; i++) {
        known.push(await time(ann.email));
        unknown.push(await time(uniqueEmail('ghost')));
      }
      // Without the dummy hash an unknown email would answer in a small fraction of the time.
      expect(median(unknown)).toBeGreaterThan(median(known) * 0.3);
    });

    it('answers 400 validation_failed for a login body with missing or unknown fields', async () => {
      const missing = await login({ email: ann.email }).expect(400);
      expectError(missing, 400, 'validation_failed');
      const unknown = await login({
        email: ann.email,
        password: ann.password,
        remember: true,
      }).expect(400);
      expectError(unknown, 400, 'validation_failed');
      const formMissing = await formLogin({ username: ann.email }).expect(400);
      expectError(formMissing, 400, 'validation_failed');
      const empty = await api(e2e.app).post('/auth/login').expect(400);
      expectError(empty, 400, 'validation_failed');
    });

    it('answers malformed JSON with 400 malformed_json', async () => {
      const res = await api(e2e.app)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"email":')
        .expect(400);
      expectError(res, 400, 'malformed_json');
    });
  });

  describe('GET /auth/me', () => {
    const payloadFor = (user: TestUser) => ({ sub: user.id, email: user.email });
    /** What the platform's tokens carry besides the payload (RFC 8725: checked on every call). */
    const ours = { issuer: JWT_ISSUER, audience: JWT_AUDIENCE };

    async function expectInvalidToken(authorization?: string): Promise<void> {
      const res = await me(authorization).expect(401);
      expectError(res, 401, 'invalid_token');
    }

    it('answers 200 {id, email, createdAt} for a valid token', async () => {
      const res = await me(`Bearer ${ann.token}`).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'email', 'id']);
      expect(res.body).toMatchObject({ id: ann.id, email: ann.email });
    });

    it('accepts the bearer scheme in any letter case', async () => {
      await me(`bearer ${ann.token}`).expect(200);
    });

    it('answers 401 without a token', () => expectInvalidToken());

    it.each(['', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer not.a.jwt', 'Token abc'])(
      'answers 401 for the Authorization header %j',
      (header) => expectInvalidToken(header),
    );

    it('answers 401 for a token signed with another secret', async () => {
      const forged = new JwtService({ secret: 'another-secret-that-is-long-enough-0123456789' });
      await expectInvalidToken(
        `Bearer ${forged.sign(payloadFor(ann), { ...ours, expiresIn: 600 })}`,
      );
    });

    it('answers 401 for a token signed with the published development secret', async () => {
      const forged = new JwtService({ secret: DEVELOPMENT_JWT_SECRET });
      await expectInvalidToken(
        `Bearer ${forged.sign(payloadFor(ann), { ...ours, expiresIn: 600 })}`,
      );
    });

    it('answers 401 for a valid token whose payload was altered', async () => {
      const other = await createUser(e2e.app, { email: uniqueEmail('other') });
      const [header, , signature] = ann.token.split('.');
      const payload = JSON.parse(Buffer.from(ann.token.split('.')[1], 'base64url').toString());
      const tampered = `${header}.${base64url({ ...payload, sub: other.id, email: other.email })}.${signature}`;
      await expectInvalidToken(`Bearer ${tampered}`);
    });

    it('answers 401 for an expired token', async () => {
      const signer = new JwtService({ secret: TEST_JWT_SECRET });
      const expired = signer.sign(
        { ...payloadFor(ann), iat: nowSeconds() - 7200, exp: nowSeconds() - 60 },
        ours,
      );
      await expectInvalidToken(`Bearer ${expired}`);
    });

    it('accepts the same token shape when it has not expired (control for the test above)', async () => {
      const signer = new JwtService({ secret: TEST_JWT_SECRET });
      const fresh = signer.sign(
        { ...payloadFor(ann), iat: nowSeconds(), exp: nowSeconds() + 60 },
        ours,
      );
      await me(`Bearer ${fresh}`).expect(200);
    });

    it.each([
      ['no exp', { ...ours }],
      ['another issuer', { issuer: 'someone-else', audience: JWT_AUDIENCE, expiresIn: 600 }],
      ['another audience', { issuer: JWT_ISSUER, audience: 'another-api', expiresIn: 600 }],
      ['no issuer nor audience', { expiresIn: 600 }],
    ])('answers 401 for a well-signed token with %s', async (_, options) => {
      const signer = new JwtService({ secret: TEST_JWT_SECRET });
      await expectInvalidToken(`Bearer ${signer.sign(payloadFor(ann), options)}`);
    });

    it('refuses the token of a user deleted since (401, never a 500 on what it asks for)', async () => {
      const gone = await createUser(e2e.app, { email: uniqueEmail('gone') });
      await me(`Bearer ${gone.token}`).expect(200);
      await e2e.app.get(DataSource).query(`DELETE FROM users WHERE id = $1`, [gone.id]);
      // Each instance believes "this user exists" for a few seconds.
      await eventually(() => expectInvalidToken(`Bearer ${gone.token}`), { timeoutMs: 6_000 });
      const org = await api(e2e.app, asUser(gone))
        .post('/orgs')
        .send({ name: 'Ghost' })
        .expect(401);
      expectError(org, 401, 'invalid_token');
    });

    it('answers 401 for an unsigned token (alg: none)', async () => {
      const payload = {
        ...payloadFor(ann),
        iss: JWT_ISSUER,
        aud: JWT_AUDIENCE,
        iat: nowSeconds(),
        exp: nowSeconds() + 600,
      };
      for (const alg of ['none', 'None', 'NONE']) {
        const unsigned = `${base64url({ alg, typ: 'JWT' })}.${base64url(payload)}.`;
        await expectInvalidToken(`Bearer ${unsigned}`);
      }
    });

    it('answers 401 for a token signed with HS512 while HS256 is configured', async () => {
      const signer = new JwtService({ secret: TEST_JWT_SECRET });
      for (const algorithm of ['HS512', 'HS384'] as const) {
        const token = signer.sign(payloadFor(ann), { ...ours, algorithm, expiresIn: 600 });
        await expectInvalidToken(`Bearer ${token}`);
      }
    });

    it('answers 401 for a well-signed token of a user that does not exist', async () => {
      const signer = new JwtService({ secret: TEST_JWT_SECRET });
      const token = signer.sign(
        { sub: randomUUID(), email: uniqueEmail('nobody') },
        { ...ours, expiresIn: 600 },
      );
      await expectInvalidToken(`Bearer ${token}`);
    });

    it('answers 401, not 500, for a well-signed token whose subject is not a user id', async () => {
      const signer = new JwtService({ secret: TEST_JWT_SECRET });
      for (const sub of ['not-a-uuid', '', undefined]) {
        const token = signer.sign({ sub, email: ann.email }, { ...ours, expiresIn: 600 });
        await expectInvalidToken(`Bearer ${token}`);
      }
    });
  });

  // Last in the file on purpose: passport keeps one strategy per name for the whole process, so
  // the app started here also decides JWT checks (and logins) for the first app from now on.
  describe('with JWT_ALGORITHM=HS512 and JWT_EXPIRES_MINUTES=5', () => {
    let hs512: NestExpressApplication;

    beforeAll(async () => {
      hs512 = await e2e.ctx.startApp({ JWT_ALGORITHM: 'HS512', JWT_EXPIRES_MINUTES: '5' });
    });

    it('signs with HS512 for 5 minutes, and refuses HS256 tokens', async () => {
      const login = await api(hs512)
        .post('/auth/login')
        .send({ email: ann.email, password: ann.password })
        .expect(200);
      expect(login.body.expires_in).toBe(300);
      const token: string = login.body.access_token;
      const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
      expect(header.alg).toBe('HS512');
      await api(hs512).get('/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
      // Same secret, the other algorithm: refused.
      await api(hs512).get('/auth/me').set('Authorization', `Bearer ${ann.token}`).expect(401);
    });
  });
});
