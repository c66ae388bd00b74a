import { errorClass } from '../common/domain-error';

export const BillingError = errorClass('BillingError', {
  invoice_not_found: 404,
  period_open: 409,
  invoice_finalized: 409,
  plan_not_found: 409,
});
