import { errorClass } from '../common/domain-error';

/** Managing an org's keys. */
export const ApiKeysError = errorClass('ApiKeysError', {
  api_key_not_found: 404,
  key_revoked: 409,
  key_expired: 409,
  rate_limit_above_plan: 400,
});

/** A `/v1` call whose key is refused. */
export const ApiKeyAuthError = errorClass('ApiKeyAuthError', {
  invalid_api_key: 401,
  key_revoked: 401,
  key_expired: 401,
  insufficient_scope: 403,
  too_many_requests: 429,
});
