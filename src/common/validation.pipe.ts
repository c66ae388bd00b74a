import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

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
    });
  }

  override createExceptionFactory() {
    return (errors: ValidationError[] = []) =>
      new BadRequestException({
        code: 'validation_failed',
        message: this.flattenValidationErrors(errors),
      });
  }
}
