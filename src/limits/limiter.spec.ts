import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { LIMITER_CASES, LIMITER_EPOCH, ledgerOf, runLimiterCase } from './limiter.cases';
import { LimiterService, LimitSubject } from './limiter.service';

const config = {
  get: () => ({ failureMode: 'open', apiKeyFailuresPerIp: 100 }),
} as unknown as ConfigService<AppConfig, true>;

describe('LimiterService in process (no Redis)', () => {
  it.each(LIMITER_CASES.map((c) => [c.name, c] as const))('%s', async (_, testCase) => {
    const limiter = new LimiterService(
      null,
      new MetricsService(),
      ledgerOf(testCase.seeded),
      config,
    );
    const seen = await runLimiterCase(limiter, testCase, 'org-1');
    expect(seen).toEqual(testCase.steps.map((s) => s.expect));
  });

  it('keeps orgs apart', async () => {
    const limiter = new LimiterService(null, new MetricsService(), ledgerOf(), config);
    const subject = (orgId: string): LimitSubject => ({
      orgId,
      buckets: [{ name: 'org', limit: { limit: 1, periodSeconds: 60 } }],
    });
    expect((await limiter.decide(subject('a'), 1, [], LIMITER_EPOCH)).outcome).toBe('admitted');
    expect((await limiter.decide(subject('a'), 1, [], LIMITER_EPOCH)).outcome).toBe('rate_limited');
    expect((await limiter.decide(subject('b'), 1, [], LIMITER_EPOCH)).outcome).toBe('admitted');
  });
});
