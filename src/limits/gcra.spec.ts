import { gcra } from './gcra';
import { GCRA_CASES } from './gcra.cases';

describe('gcra (in-process limiter maths)', () => {
  it.each(GCRA_CASES.map((c) => [c.name, c] as const))('%s', (_, testCase) => {
    let tat: number | null = null;
    const decisions = testCase.steps.map((step) => {
      const decision = gcra(tat, step.at, testCase.limit, testCase.periodMs, step.cost ?? 1);
      if (decision.allowed) tat = decision.tat;
      const { allowed, remaining, resetMs, retryAfterMs } = decision;
      return { allowed, remaining, resetMs, retryAfterMs };
    });
    expect(decisions).toEqual(testCase.steps.map((s) => s.expect));
  });

  it('never lets more than `limit` through however the requests are spread inside one period', () => {
    for (const limit of [1, 2, 7, 10, 100]) {
      let tat: number | null = null;
      let allowed = 0;
      for (let at = 0; at < 1000; at += 1000 / (limit * 4)) {
        const decision = gcra(tat, at, limit, 1000);
        if (decision.allowed) {
          allowed++;
          tat = decision.tat;
        }
      }
      // One period of burst plus what is emitted during it, never more.
      expect(allowed).toBeLessThanOrEqual(limit * 2);
      expect(allowed).toBeGreaterThanOrEqual(limit);
    }
  });
});
