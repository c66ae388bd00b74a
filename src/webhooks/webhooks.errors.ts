import { errorClass } from '../common/domain-error';

export const WebhooksError = errorClass('WebhooksError', {
  webhook_not_found: 404,
  webhook_url_forbidden: 400,
  too_many_webhooks: 409,
});
