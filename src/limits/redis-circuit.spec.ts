import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS_CIRCUIT_COOL_DOWN_MS, RedisCircuit } from './redis-circuit';

describe('RedisCircuit', () => {
  let metrics: MetricsService;
  let warn: jest.SpyInstance;
  const fakeRedis = (status: string) => ({ status }) as unknown as Redis;
  const fallbacks = async (limiter: string) =>
    (await metrics.authThrottleFallbacks.get()).values.find((v) => v.labels.limiter === limiter)
      ?.value ?? 0;

  beforeEach(() => {
    metrics = new MetricsService();
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('without Redis answers from memory, silently', async () => {
    const circuit = new RedisCircuit(null, metrics);
    const onRedis = jest.fn();
    await expect(circuit.run('ip', onRedis, () => 'memory')).resolves.toBe('memory');
    expect(onRedis).not.toHaveBeenCalled();
    expect(await fallbacks('ip')).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });

  it('uses Redis while it is ready', async () => {
    const circuit = new RedisCircuit(fakeRedis('ready'), metrics);
    await expect(
      circuit.run(
        'ip',
        async () => 'redis',
        () => 'memory',
      ),
    ).resolves.toBe('redis');
  });

  it('does not call Redis while the connection is down, and counts the fallback', async () => {
    const circuit = new RedisCircuit(fakeRedis('reconnecting'), metrics);
    const onRedis = jest.fn();
    await expect(circuit.run('email', onRedis, () => 'memory')).resolves.toBe('memory');
    expect(onRedis).not.toHaveBeenCalled();
    expect(await fallbacks('email')).toBe(1);
  });

  it('falls back on an error, then skips Redis for a cool-down, then tries again', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const circuit = new RedisCircuit(fakeRedis('ready'), metrics);
    const failing = jest.fn().mockRejectedValue(new Error('Command timed out'));
    await expect(circuit.run('ip', failing, () => 'memory')).resolves.toBe('memory');
    await expect(circuit.run('email', failing, () => 'memory')).resolves.toBe('memory');
    expect(failing).toHaveBeenCalledTimes(1);
    jest.setSystemTime(1_000_000 + REDIS_CIRCUIT_COOL_DOWN_MS);
    await expect(
      circuit.run(
        'ip',
        async () => 'redis',
        () => 'memory',
      ),
    ).resolves.toBe('redis');
    expect(await fallbacks('ip')).toBe(1);
    expect(await fallbacks('email')).toBe(1);
  });

  it('warns at most every 10 seconds', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const circuit = new RedisCircuit(fakeRedis('reconnecting'), metrics);
    for (let i = 0; i < 5; i++) await circuit.run('ip', jest.fn(), () => undefined);
    expect(warn).toHaveBeenCalledTimes(1);
    jest.setSystemTime(1_000_000 + 10_000);
    await circuit.run('ip', jest.fn(), () => undefined);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[1][0]).toContain('4 more');
    expect(await fallbacks('ip')).toBe(6);
  });
});
