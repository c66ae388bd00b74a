import { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Nest answers the requests no route matched (404) from a catch-all route of this template. */
const NOT_FOUND_ROUTE = '/{*path}';

/** The route a request matched, as its template (`/orgs/:orgId/usage`): never the URL itself. */
export function routeLabel(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string' || path === NOT_FOUND_ROUTE) return 'unmatched';
  return `${req.baseUrl}${path}`;
}

/**
 * Express middleware timing every request into `http_request_duration_seconds`. The labels are
 * read once the answer is done: by then Express has set `req.route` (unset for a request that
 * matched no route, or was refused before routing: `route="unmatched"`). An answer the client did
 * not wait for is counted with status 499, as nginx does.
 */
export function httpMetricsMiddleware(metrics: MetricsService) {
  const histogram = metrics.httpRequestDuration;
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      histogram.observe(
        {
          method: METHODS.has(req.method) ? req.method : 'other',
          route: routeLabel(req),
          status: res.writableFinished ? res.statusCode : 499,
        },
        seconds,
      );
    });
    next();
  };
}
