import { Request, Response, NextFunction } from 'express';
import { STATUS_CODES } from 'node:http';

const FORM = 'application/x-www-form-urlencoded';

/**
 * A request that carries a body must say it is JSON (or, on the routes that take the OAuth2
 * password form, form-encoded): anything else is 415 before a parser sees it.
 */
export function requireJsonBody(formRoutes: string[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (!hasBody) return next();
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'application/json' || type.endsWith('+json')) return next();
    if (type === FORM && formRoutes.includes(req.path)) return next();
    res.status(415).json({
      statusCode: 415,
      error: STATUS_CODES[415],
      message: formRoutes.includes(req.path)
        ? `Content-Type must be application/json or ${FORM}`
        : 'Content-Type must be application/json',
      code: 'unsupported_media_type',
    });
  };
}
