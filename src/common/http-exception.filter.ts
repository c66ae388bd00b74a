import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { DomainError, Problem } from './domain-error';

/** The contract's error body. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code: string;
  /** The request's `X-Request-Id`, to quote when asking about it. */
  requestId?: string;
  /** On a 400: each problem with the field it is about (the same ones as in `message`). */
  errors?: Problem[];
  /** Safe extra facts (readiness states, ...). */
  details?: Record<string, unknown>;
}

const DEFAULT_CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/** How long a client should wait after a database outage answer. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * What of an unexpected error may be logged: its class, message, driver code and stack. Not the
 * whole object: a TypeORM QueryFailedError carries the query's parameters (password hashes, key
 * hashes) and the driver's `detail` (the conflicting values).
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!isErrorLike(error)) return { type: typeof error };
  const code = driverCode(error);
  return {
    type: error.constructor?.name ?? 'Error',
    message: error.message,
    ...(code !== undefined ? { code } : {}),
    stack: error.stack,
  };
}

/**
 * An Error by its shape, not `instanceof`: errors made by Node's own modules (a refused socket) come
 * from another realm where code runs in a VM context (jest), and would not pass `instanceof Error`.
 */
function isErrorLike(error: unknown): error is Error {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

function driverCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Postgres being away (refused, reset, pool timeout, shutting down) is the operator's problem and
 * passes: 503 with `Retry-After`, never a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!isErrorLike(error)) return false;
  const code = driverCode(error) ?? '';
  if (/^(08|57P0[1-3]|53300)/.test(code)) return true;
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)
  )
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Connection is not established|pool is (closed|ending)/i.test(
    error.message,
  );
}

/**
 * A statement Postgres refused because of the data it was given (class 22: bad value, NUL in text,
 * number out of range; class 54: too deep or too big): the client's input, so a 400. Anything that
 * reaches this point is a validation gap, still never a 500.
 */
function isDataError(error: unknown): boolean {
  return error instanceof QueryFailedError && /^(22|54)/.test(driverCode(error) ?? '');
}

/**
 * The single place where errors become HTTP answers. Everything that is neither a deliberate error
 * nor a known dependency fault is a 500 whose details (stack, SQL, driver text) stay in the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  /** `onError` is told of every error answer (metrics count them by status and code). */
  constructor(private readonly onError?: (statusCode: number, code: string) => void) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const response = ctx.getResponse<Response>();
    const request = ctx.getRequest<Request>();
    const body = this.toBody(exception);
    this.onError?.(body.statusCode, body.code);
    if (body.statusCode >= 500 && body.code === 'internal_error') {
      this.logger.error(
        {
          err: loggableError(exception),
          method: request.method,
          url: request.originalUrl,
          requestId: request.id,
        },
        'Unhandled error',
      );
    } else if (body.code === 'database_unavailable') {
      this.logger.warn({ err: loggableError(exception) }, 'Database unavailable');
    }
    if (response.headersSent) {
      // A streamed answer failed midway: all that is left is to cut it short.
      if (!response.writableEnded) response.destroy();
      return;
    }
    if (request.id !== undefined) body.requestId = String(request.id);
    const retryAfter = retryAfterOf(exception, body);
    if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
    // An error is JSON even where the route had set another type (`/metrics`, the CSV export).
    response.status(body.statusCode).type('json').json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      const problems = exception.problems;
      return {
        statusCode: exception.status,
        error: STATUS_CODES[exception.status] ?? 'Error',
        message: problems?.length ? problems.map((p) => p.message) : exception.message,
        code: exception.code,
        ...(problems?.length ? { errors: problems } : {}),
        ...(exception.details ? { details: exception.details } : {}),
      };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const payload = exception.getResponse();
      const fields: Partial<ErrorBody> =
        typeof payload === 'string' ? { message: payload } : (payload as Partial<ErrorBody>);
      return {
        statusCode,
        error: STATUS_CODES[statusCode] ?? 'Error',
        message: fields.message ?? exception.message,
        code: fields.code ?? DEFAULT_CODES[statusCode] ?? 'error',
        ...(fields.details ? { details: fields.details } : {}),
      };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        statusCode: 503,
        error: STATUS_CODES[503]!,
        message: 'The database is unavailable; try again shortly',
        code: 'database_unavailable',
      };
    }
    if (isDataError(exception)) {
      return {
        statusCode: 400,
        error: STATUS_CODES[400]!,
        message: 'The request holds a value the database cannot store',
        code: 'bad_request',
      };
    }
    return {
      statusCode: 500,
      error: STATUS_CODES[500]!,
      message: 'Internal server error',
      code: 'internal_error',
    };
  }
}

function retryAfterOf(exception: unknown, body: ErrorBody): number | undefined {
  if (exception instanceof DomainError && exception.retryAfterSeconds !== undefined)
    return Math.max(1, Math.ceil(exception.retryAfterSeconds));
  if (body.code === 'database_unavailable') return DATABASE_RETRY_AFTER_SECONDS;
  return undefined;
}
