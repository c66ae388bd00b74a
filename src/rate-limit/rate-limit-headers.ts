import { Response } from 'express';
import { RateDecision } from './rate-limiter.service';

/**
 * The headers most gateways send (`RateLimit-Limit/-Remaining/-Reset`) and the current IETF
 * draft's structured pair (`RateLimit-Policy`, `RateLimit`).
 */
export function setRateLimitHeaders(res: Response, decision: RateDecision): void {
  res.setHeader('RateLimit-Limit', String(decision.limit));
  res.setHeader('RateLimit-Remaining', String(decision.remaining));
  res.setHeader('RateLimit-Reset', String(decision.resetSeconds));
  res.setHeader('RateLimit-Policy', `"default";q=${decision.limit};w=${decision.periodSeconds}`);
  res.setHeader('RateLimit', `"default";r=${decision.remaining};t=${decision.resetSeconds}`);
  if (!decision.allowed)
    res.setHeader('Retry-After', String(Math.max(1, decision.retryAfterSeconds)));
}
