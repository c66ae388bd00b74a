import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Request } from 'express';
import { validationFailed } from '../common/domain-error';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** `Idempotency-Key`: absent, or 1 to 255 characters, used whole (never cut); else 400. */
export function checkIdempotencyKey(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length >= 1 && value.length <= MAX_IDEMPOTENCY_KEY_LENGTH)
    return value;
  throw validationFailed([
    {
      field: 'Idempotency-Key',
      message: `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    },
  ]);
}

/** The request's `Idempotency-Key` header, checked. */
export const IdempotencyKey = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | undefined =>
    checkIdempotencyKey(ctx.switchToHttp().getRequest<Request>().headers['idempotency-key']),
);
