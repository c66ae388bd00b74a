import { errorClass } from '../common/domain-error';

export const UsageError = errorClass('UsageError', {
  unknown_meter: 400,
  too_many_rows: 400,
  too_many_exports: 429,
  report_timeout: 503,
});
