import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOAuth2,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { ErrorBody } from './http-exception.filter';
import { Problem } from './domain-error';

/** One field-level problem of a 400, as the filter writes it. */
export class ProblemDto implements Problem {
  @ApiProperty({ description: 'The path of the field', example: 'rateLimit.limit' })
  field: string;
  @ApiProperty({
    description: 'A whole sentence naming the field',
    example: 'rateLimit.limit must be a positive number',
  })
  message: string;
}

/**
 * The one error body of every route, exactly what HttpExceptionFilter writes (`ErrorBody`): a
 * client generated from the document reads `code` and `requestId` from any failed call.
 */
export class ErrorDto implements ErrorBody {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ description: 'The reason phrase of the status', example: 'Bad Request' })
  error: string;
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'A sentence, or one sentence per problem of a 400',
    example: ['name must be shorter than or equal to 100 characters'],
  })
  message: string | string[];
  @ApiProperty({
    description:
      'A stable snake_case word to tell cases apart (`validation_failed`, `rate_limited`, `quota_exceeded`, …)',
    example: 'validation_failed',
  })
  code: string;
  @ApiPropertyOptional({
    description: 'The `X-Request-Id` of the request, to quote when asking about it',
    example: '3f0b9e55-8d0e-4b7a-9d7f-0c5f7b1a2c3d',
  })
  requestId?: string;
  @ApiPropertyOptional({
    type: [ProblemDto],
    description: 'On a 400: each problem with the field it is about (the ones in `message`)',
  })
  errors?: ProblemDto[];
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Safe extra facts (readiness states, …)',
    example: { postgres: { status: 'down' } },
  })
  details?: Record<string, unknown>;
}

/** The error statuses the platform answers (never a 500 on purpose). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/** What each status means everywhere; a route adds its own codes with `{409: '`email_taken`'}`. */
const MEANINGS: Record<ErrorStatus, string> = {
  400: '`validation_failed` (every problem listed in `errors`), `malformed_json` or `bad_request`',
  401: 'Not authenticated',
  403: 'Authenticated, not allowed',
  404: 'Not found (or not visible to the caller)',
  409: 'Conflicts with the current state',
  413: '`payload_too_large`: the body is over the size limit',
  415: '`unsupported_media_type`: another content type or charset than the route takes',
  429: 'Too many requests: wait for `Retry-After` seconds',
  503: '`database_unavailable` (with `Retry-After`): a dependency is down; try again shortly',
};

/**
 * Documents error answers with the shared ErrorDto (their headers are added to the document in
 * one place, `src/openapi.ts`).
 * `@ApiErrors(401, 404, { 409: '`last_owner`: …' })`: a bare status takes its general meaning,
 * a described one says which codes the route answers. Descriptions of one status given by
 * several decorators (a guard's and the route's) are joined, never lost.
 */
export function ApiErrors(
  ...errors: (ErrorStatus | Partial<Record<ErrorStatus, string>>)[]
): MethodDecorator & ClassDecorator {
  const entries = errors.flatMap((e) =>
    typeof e === 'number'
      ? [[e, MEANINGS[e]] as const]
      : Object.entries(e).map(([s, d]) => [Number(s) as ErrorStatus, d as string] as const),
  );
  return applyDecorators(
    ...entries.map(([status, description]) =>
      ApiResponse({
        status,
        description: description || STATUS_CODES[status],
        content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorDto) } } },
      }),
    ),
  );
}

/**
 * A route for a signed-in user: a bearer JWT, which Swagger UI's Authorize gets either pasted
 * (`jwt`) or by logging in with email and password through the OAuth2 password flow (`oauth2`).
 */
export const ApiUserAuth = () =>
  applyDecorators(
    ApiBearerAuth('jwt'),
    ApiOAuth2([], 'oauth2'),
    ApiErrors({ 401: '`invalid_token`: no valid bearer token' }),
  );
