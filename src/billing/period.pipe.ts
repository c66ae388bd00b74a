import { PipeTransform } from '@nestjs/common';
import { validationFailed } from '../common/domain-error';
import { isPeriod } from '../common/period';

/** A `:period` path parameter: `YYYY-MM`, else 400. */
export class ParsePeriodPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (isPeriod(value)) return value;
    throw validationFailed([
      { field: 'period', message: 'period must be a month written YYYY-MM (years 1970 to 9999)' },
    ]);
  }
}
