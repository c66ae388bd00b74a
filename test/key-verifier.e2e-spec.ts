import { INestApplication } from '@nestjs/common';
import { ApiKeyVerifier } from '../src/api-keys/api-key-verifier.service';
import { ApiKeysRepository } from '../src/api-keys/api-keys.repository';
import { createApiKey, createOrg, createUser, TestUser } from './support/factories';
import { api, asUser } from './support/http';
import { describeWithRedis, DisposableRedis } from './support/redis-server';
import { setupTestContext } from './support/test-app';
import { eventually } from './support/time';

/**
 * The API key verifier's cache on the real repository and database (and Redis pub/sub where
 * there is one). Faked: only the timing of the repository's look-up, held back at will.
 */
describe('ApiKeyVerifier (cached key look-ups)', () => {
  const e2e = setupTestContext();
  let owner: TestUser, orgId: string;

  beforeAll(async () => {
    owner = await createUser(e2e.app);
    orgId = await createOrg(e2e.app, owner);
  });
  afterEach(() => jest.restoreAllMocks());

  const revoke = (app: INestApplication, keyId: string) =>
    api(app, asUser(owner)).delete(`/orgs/${orgId}/api-keys/${keyId}`).expect(204);

  /** Spies on an instance's look-ups; `hold()` makes the next one read, then wait to return. */
  function watchLookups(app: INestApplication) {
    const repository = app.get(ApiKeysRepository);
    const find = repository.findCredentialByHash.bind(repository);
    let held: { read: () => void; release: Promise<void> } | undefined;
    const spy = jest.spyOn(repository, 'findCredentialByHash').mockImplementation(async (hash) => {
      const row = await find(hash);
      const hold = held;
      held = undefined;
      if (hold) {
        hold.read();
        await hold.release;
      }
      return row;
    });
    return {
      spy,
      /** The next look-up reads Postgres, then waits: resolves once it has read; `release` ends it. */
      hold(): { hasRead: Promise<void>; release: () => void } {
        let read!: () => void, release!: () => void;
        const hasRead = new Promise<void>((r) => (read = r));
        held = { read, release: new Promise<void>((r) => (release = r)) };
        return { hasRead, release };
      },
    };
  }

  it('serves a cached key without reading Postgres', async () => {
    const verifier = e2e.app.get(ApiKeyVerifier);
    const { key, id } = await createApiKey(e2e.app, owner, orgId);
    const lookups = watchLookups(e2e.app);
    expect(await verifier.check(key)).toMatchObject({ status: 'valid', key: { id, orgId } });
    // (On Redis the cache is trusted once the instance listens for invalidations.)
    await eventually(
      async () => {
        const before = lookups.spy.mock.calls.length;
        expect(await verifier.check(key)).toMatchObject({ status: 'valid', key: { id } });
        expect(lookups.spy.mock.calls.length).toBe(before);
      },
      { timeoutMs: 3_000 },
    );
  });

  it('does not cache what a look-up read before an invalidation that came while it ran', async () => {
    const verifier = e2e.app.get(ApiKeyVerifier);
    const { key, id } = await createApiKey(e2e.app, owner, orgId);
    const lookups = watchLookups(e2e.app);
    const held = lookups.hold();
    const racing = verifier.check(key);
    await held.hasRead;
    await revoke(e2e.app, id);
    held.release();
    // Started before the revocation: it may still answer valid; it must not be remembered.
    expect((await racing).status).toBe('valid');
    const calls = lookups.spy.mock.calls.length;
    expect(await verifier.check(key)).toEqual({ status: 'revoked' });
    expect(lookups.spy.mock.calls.length).toBe(calls + 1);
  });

  describeWithRedis('with instances sharing Redis', () => {
    it('drops a revoked key from the cache of another instance within 1 s', async () => {
      const other = await e2e.ctx.startApp();
      const { key, id } = await createApiKey(e2e.app, owner, orgId);
      const verifier = other.get(ApiKeyVerifier);
      expect((await verifier.check(key)).status).toBe('valid');
      await revoke(e2e.app, id);
      const revokedAt = Date.now();
      await eventually(
        async () => expect(await verifier.check(key)).toEqual({ status: 'revoked' }),
        {
          timeoutMs: 1_000,
          intervalMs: 20,
        },
      );
      expect(Date.now() - revokedAt).toBeLessThan(1_000);
    });

    it('does not cache what a look-up read while the instance could not hear invalidations', async () => {
      const redis = await DisposableRedis.start();
      try {
        // An instance on a Redis of its own: it hears nothing the others publish, as one cut off.
        const isolated = await e2e.ctx.startApp({ REDIS_URL: redis.url });
        const verifier = isolated.get(ApiKeyVerifier);
        const { key, id } = await createApiKey(e2e.app, owner, orgId);
        const lookups = watchLookups(isolated);

        await redis.stop();
        await eventually(() => api(isolated).get('/health/ready').expect(503), {
          timeoutMs: 3_000,
        });
        const held = lookups.hold();
        const racing = verifier.check(key);
        await held.hasRead;
        // Revoked while this instance is not listening: the invalidation never reaches it.
        await revoke(e2e.app, id);
        await redis.resume();
        // Listening again, it forgets what it cached: whatever it missed is read anew ...
        await eventually(() => api(isolated).get('/health/ready').expect(200), {
          timeoutMs: 5_000,
        });
        await eventually(
          async () => {
            const probe = await createApiKey(e2e.app, owner, orgId);
            await verifier.check(probe.key);
            const before = lookups.spy.mock.calls.length;
            await verifier.check(probe.key);
            expect(lookups.spy.mock.calls.length).toBe(before);
          },
          { timeoutMs: 5_000, intervalMs: 100 },
        );
        // ... including what a look-up that started before then read.
        held.release();
        await racing;
        expect(await verifier.check(key)).toEqual({ status: 'revoked' });
      } finally {
        await redis.stop();
      }
    });
  });
});
