import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Problem, validationFailed } from './domain-error';

/**
 * class-validator's errors as problems named by their full path (`rateLimit.limit`,
 * `meters.0.price`), with messages that start with that path.
 */
export function toProblems(errors: ValidationError[], parent = ''): Problem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      // class-validator names the property alone: name the whole path instead.
      message: message.startsWith(error.property)
        ? `${field}${message.slice(error.property.length)}`
        : message,
    }));
    return [...own, ...toProblems(error.children ?? [], field)];
  });
}

/**
 * The one validation pipe: strips nothing silently (unknown fields are a 400), transforms to the
 * DTO types, and lists every problem under `code: "validation_failed"`.
 */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      stopAtFirstError: false,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) => validationFailed(toProblems(errors)),
    });
  }
}
