import { errorClass } from '../common/domain-error';

export const OrgsError = errorClass('OrgsError', {
  org_not_found: 404,
  member_not_found: 404,
  user_not_found: 404,
  plan_not_found: 404,
  insufficient_role: 403,
  owner_required: 403,
  last_owner: 409,
});

export const orgNotFound = () => new OrgsError('org_not_found', 'Organization not found');
