import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { Request, Response } from 'express';

/** The contract's error body. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code?: string;
  /** Only on readiness failures: each dependency and its state. */
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

/**
 * What of an unexpected error may be logged: its class, message, driver code and stack. Not the
 * whole object: a TypeORM QueryFailedError carries the query's parameters (password hashes, key
 * hashes) and the driver's `detail` (the conflicting values).
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
    (error as { code?: unknown }).code;
  return {
    type: error.constructor.name,
    message: error.message,
    ...(code !== undefined ? { code } : {}),
    stack: error.stack,
  };
}

/**
 * The single place where errors become HTTP answers. Everything that is not a deliberate
 * HttpException is a 500 whose details (stack, SQL, driver text) stay in the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const response = ctx.getResponse<Response>();
    const request = ctx.getRequest<Request>();
    const body = this.toBody(exception);
    if (body.statusCode >= 500 && !(exception instanceof HttpException)) {
      this.logger.error(
        { err: loggableError(exception), method: request.method, url: request.originalUrl },
        'Unhandled error',
      );
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const payload = exception.getResponse();
      const fields: Partial<ErrorBody> =
        typeof payload === 'string' ? { message: payload } : (payload as Partial<ErrorBody>);
      return {
        statusCode,
        error: STATUS_CODES[statusCode] ?? 'Error',
        message: fields.message ?? exception.message,
        code: fields.code ?? DEFAULT_CODES[statusCode],
        ...(fields.details ? { details: fields.details } : {}),
      };
    }
    const statusCode = HttpStatus.INTERNAL_SERVER_ERROR;
    return {
      statusCode,
      error: STATUS_CODES[statusCode]!,
      message: 'Internal server error',
      code: 'internal_error',
    };
  }
}
