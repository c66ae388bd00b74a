import { errorClass } from '../common/domain-error';

export const AuthError = errorClass('AuthError', {
  invalid_credentials: 401,
  invalid_token: 401,
  too_many_failed_logins: 429,
  too_many_requests: 429,
});
