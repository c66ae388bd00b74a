import { errorClass } from '../common/domain-error';

export const MeteringError = errorClass('MeteringError', {
  negative_value: 400,
  unknown_meter: 400,
  period_closed: 409,
});
