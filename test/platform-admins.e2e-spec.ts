import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { expectError } from './support/assertions';
import {
  createPlatformAdmin,
  createUser,
  PLATFORM_ADMIN_EMAIL,
  TestUser,
  uniqueEmail,
} from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

const ROOT = resolve(__dirname, '..');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('platform admins (§0)', () => {
  const e2e = setupTestContext();
  let admin: TestUser;

  const db = () => e2e.app.get(DataSource);
  const isAdmin = async (email: string) =>
    (
      await db().query(`SELECT is_platform_admin AS "isAdmin" FROM users WHERE email = $1`, [email])
    )[0]?.isAdmin as boolean | undefined;
  /** A route only platform admins may use: 200 for one, 403 for anyone else. */
  const catalogue = (user: TestUser, app = e2e.app) => api(app, asUser(user)).get('/admin/meters');
  const grant = (by: TestUser, email: string) =>
    api(e2e.app, asUser(by)).post('/admin/admins').send({ email });

  beforeAll(async () => {
    admin = await createPlatformAdmin(e2e.app);
  });

  describe('PLATFORM_ADMIN_EMAIL + PLATFORM_ADMIN_PASSWORD at start', () => {
    afterEach(() => jest.restoreAllMocks());

    it('creates the account, flagged, when it does not exist yet', async () => {
      expect(await isAdmin(PLATFORM_ADMIN_EMAIL)).toBe(true);
      await catalogue(admin).expect(200);
    });

    it('flags an existing account whose password is the same', async () => {
      const ops = await createUser(e2e.app, { password: 'the operator password 1' });
      await catalogue(ops).expect(403);
      await e2e.ctx.startApp({
        PLATFORM_ADMIN_EMAIL: ` ${ops.email.toUpperCase()} `,
        PLATFORM_ADMIN_PASSWORD: 'the operator password 1',
      });
      expect(await isAdmin(ops.email)).toBe(true);
      await catalogue(ops).expect(200);
    });

    it('leaves alone an existing account whose password differs, logging an error without the password', async () => {
      const squatter = await createUser(e2e.app, { password: "the squatter's password" });
      const error = jest.spyOn(Logger.prototype, 'error');
      const secret = 'operator secret that must never be logged';
      await e2e.ctx.startApp({
        PLATFORM_ADMIN_EMAIL: squatter.email,
        PLATFORM_ADMIN_PASSWORD: secret,
      });
      expect(await isAdmin(squatter.email)).toBe(false);
      await catalogue(squatter).expect(403);
      const logged = JSON.stringify(error.mock.calls);
      expect(logged).toMatch(/PLATFORM_ADMIN_EMAIL.*left alone/);
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(squatter.password);
      // And the operator's password does not open the squatter's account.
      await api(e2e.app)
        .post('/auth/login')
        .send({ email: squatter.email, password: secret })
        .expect(401);
    });

    it('never makes an admin of a sign-up, whatever the address or the body says', async () => {
      for (const email of [uniqueEmail('admin'), `root-${Date.now()}@platform.test`]) {
        const user = await createUser(e2e.app, { email });
        await catalogue(user).expect(403);
        expect(await isAdmin(email)).toBe(false);
      }
      const claim = await api(e2e.app)
        .post('/auth/signup')
        .send({ email: uniqueEmail('claim'), password: 'a fine password', isPlatformAdmin: true });
      expectError(claim, 400, 'validation_failed');
      const taken = await api(e2e.app)
        .post('/auth/signup')
        .send({ email: PLATFORM_ADMIN_EMAIL.toUpperCase(), password: 'a fine password' });
      expectError(taken, 409, 'email_taken');
    });
  });

  describe('/admin/admins', () => {
    it('grants an existing user (201, then 200), who may then manage the catalogue', async () => {
      const user = await createUser(e2e.app);
      const first = await grant(admin, ` ${user.email.toUpperCase()}`).expect(201);
      expect(first.body).toEqual({ id: user.id, email: user.email, createdAt: expect.any(String) });
      const again = await grant(admin, user.email).expect(200);
      expect(again.body).toEqual(first.body);
      await catalogue(user).expect(200);
    });

    it('answers 404 user_not_found for an unknown email, 403 to a non-admin, 401 to no one', async () => {
      expectError(await grant(admin, uniqueEmail('ghost')), 404, 'user_not_found');
      const user = await createUser(e2e.app);
      const other = await createUser(e2e.app);
      expectError(await grant(user, other.email), 403, 'platform_admin_required');
      expectError(await grant(user, user.email), 403, 'platform_admin_required');
      for (const res of [
        await api(e2e.app, asUser(user)).get('/admin/admins'),
        await api(e2e.app, asUser(user)).delete(`/admin/admins/${admin.id}`),
      ])
        expectError(res, 403, 'platform_admin_required');
      await api(e2e.app).get('/admin/admins').expect(401);
      expect(await isAdmin(other.email)).toBe(false);
      expect(await isAdmin(admin.email)).toBe(true);
    });

    it('revokes (204): the user loses /admin/* at once, on every instance', async () => {
      const user = await createUser(e2e.app);
      await grant(admin, user.email).expect(201);
      const second = await e2e.ctx.startApp();
      await catalogue(user, second).expect(200);
      await api(e2e.app, asUser(admin)).delete(`/admin/admins/${user.id}`).expect(204);
      await catalogue(user).expect(403);
      await catalogue(user, second).expect(403);
      expectError(
        await api(e2e.app, asUser(admin)).delete(`/admin/admins/${user.id}`),
        404,
        'user_not_found',
      );
    });

    it('lists the admins, oldest first, and refuses to revoke the last one (409 last_platform_admin)', async () => {
      const list = async () =>
        (await api(e2e.app, asUser(admin)).get('/admin/admins?limit=200').expect(200)).body;
      const page = await list();
      expect(page.nextCursor).toBeNull();
      expect(page.data[0]).toEqual({
        id: admin.id,
        email: admin.email,
        createdAt: expect.any(String),
      });
      const [{ n }] = await db().query(
        `SELECT count(*)::int AS n FROM users WHERE is_platform_admin`,
      );
      expect(page.data).toHaveLength(n);
      // Revoke everyone else, two at a time racing each other.
      const others = page.data.filter((u: { id: string }) => u.id !== admin.id);
      const statuses = await Promise.all(
        others.map((u: { id: string }) =>
          api(e2e.app, asUser(admin))
            .delete(`/admin/admins/${u.id}`)
            .then((r) => r.status),
        ),
      );
      expect(statuses.every((s) => s === 204)).toBe(true);
      expect((await list()).data).toEqual([page.data[0]]);
      const last = await api(e2e.app, asUser(admin)).delete(`/admin/admins/${admin.id}`);
      expectError(last, 409, 'last_platform_admin');
      expect(await isAdmin(admin.email)).toBe(true);
    });
  });

  describe('the CLI (src/cli.ts admin grant|revoke <email>)', () => {
    /** Runs the CLI as an operator would, on this spec's database. */
    function cli(...args: string[]): Promise<CliResult> {
      const env: Record<string, string> = { TS_NODE_TRANSPILE_ONLY: 'true' };
      for (const [name, value] of Object.entries({ ...process.env, ...e2e.ctx.env() }))
        if (value !== undefined && !name.startsWith('PLATFORM_ADMIN_')) env[name] = value;
      const child = spawn(
        'npx',
        ['ts-node', '-r', 'tsconfig-paths/register', 'src/cli.ts', ...args],
        { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
    }

    it('exits 2 with a usage line for bad arguments', async () => {
      const results = await Promise.all([
        cli(),
        cli('admin', 'grant'),
        cli('admin', 'promote', 'x@example.test'),
      ]);
      for (const result of results) {
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/^Usage: .*admin grant <email>/m);
      }
    }, 60_000);

    it('grants (exit 0) an existing user, and exits 1 for an unknown email', async () => {
      const user = await createUser(e2e.app);
      const [granted, unknown] = await Promise.all([
        cli('admin', 'grant', user.email.toUpperCase()),
        cli('admin', 'grant', 'nobody-at-all@example.test'),
      ]);
      expect(granted).toMatchObject({ code: 0 });
      expect(granted.stdout).toContain(`${user.email} is now a platform admin`);
      await catalogue(user).expect(200);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('No user with this email');
      expect(await isAdmin('nobody-at-all@example.test')).toBeUndefined();
    }, 60_000);

    it('revokes (exit 0): the user loses the catalogue at once; the last admin stays (exit 1)', async () => {
      const user = await createUser(e2e.app);
      await grant(admin, user.email).expect(201);
      const revoked = await cli('admin', 'revoke', user.email);
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain('is no longer a platform admin');
      await catalogue(user).expect(403);
      await db().query(`UPDATE users SET is_platform_admin = false WHERE email <> $1`, [
        admin.email,
      ]);
      const last = await cli('admin', 'revoke', admin.email);
      expect(last.code).toBe(1);
      expect(last.stderr).toContain('at least one admin');
      await catalogue(admin).expect(200);
    }, 60_000);
  });
});
