import { errorClass } from '../common/domain-error';

/** Refusals of the limiter, and its outage in `closed` mode. */
export const LimitsError = errorClass('LimitsError', {
  rate_limited: 429,
  quota_exceeded: 429,
  rate_limiter_unavailable: 503,
});
