import { errorClass } from '../common/domain-error';

export const UsersError = errorClass('UsersError', {
  email_taken: 409,
  user_not_found: 404,
  platform_admin_required: 403,
  last_platform_admin: 409,
});
