import { errorClass } from '../common/domain-error';

export const CatalogueError = errorClass('CatalogueError', {
  meter_not_found: 404,
  plan_not_found: 404,
  meter_exists: 409,
  plan_exists: 409,
  immutable_field: 400,
  unknown_meter: 400,
});
