import { api } from './support/http';
import { hasSharedRedis } from './support/redis-server';
import { setupTestContext } from './support/test-app';

describe('health', () => {
  const e2e = setupTestContext();

  it('GET /health answers 200 {status: ok} without auth', async () => {
    const res = await api(e2e.app).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toBeDefined();
  });

  it('GET /health/ready names each dependency as up', async () => {
    const res = await api(e2e.app).get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details.postgres).toEqual({ status: 'up' });
    if (hasSharedRedis) expect(res.body.details.redis).toEqual({ status: 'up' });
  });

  it('GET /health/ready answers 503 naming Redis when the configured Redis is unreachable', async () => {
    const broken = await e2e.ctx.startApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    const res = await api(broken).get('/health/ready').expect(503);
    expect(res.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      code: 'not_ready',
    });
    expect(res.body.details.postgres.status).toBe('up');
    expect(res.body.details.redis.status).toBe('down');
  });
});
