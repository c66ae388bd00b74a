import {
  BadRequestException,
  HttpException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { json, NextFunction, Request, RequestHandler, Response, urlencoded } from 'express';

/** body-parser's error `type`s, as the HTTP answers the contract wants. */
function toHttpException(error: { type?: string; message?: string }): HttpException {
  switch (error.type) {
    case 'entity.parse.failed':
      return new BadRequestException({
        code: 'malformed_json',
        message: 'Request body is not valid JSON',
      });
    case 'entity.too.large':
    case 'parameters.too.many':
      return new PayloadTooLargeException({
        code: 'payload_too_large',
        message: 'Request body is too large',
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeException({
        code: 'unsupported_media_type',
        message: 'Unsupported body encoding or charset',
      });
    default:
      return new BadRequestException({
        code: 'bad_request',
        message: 'Request body could not be read',
      });
  }
}

function mapParserErrors(parser: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) =>
    parser(req, res, (error?: unknown) =>
      next(error ? toHttpException(error as { type?: string }) : undefined),
    );
}

export const jsonBody = (limit: string) =>
  mapParserErrors(json({ limit, type: ['application/json', 'application/*+json'] }));

export const formBody = (limit: string) => mapParserErrors(urlencoded({ extended: false, limit }));
