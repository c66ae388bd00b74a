import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { pino, Level, Logger as PinoLogger } from 'pino';
import { INestApplicationContext, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Request } from 'express';
import { LoggerModule, Params, PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import { AppConfig } from '../config/configuration';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Uses the caller's `X-Request-Id` when it is sane, else a new UUID, and echoes it back. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Installed before every other middleware (see `configureApp`), so that answers given before
 * Nest's own middleware runs (body-parser errors, 415) carry the id too; pino-http reuses `req.id`.
 */
export function requestIdMiddleware(
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
): void {
  req.id = assignRequestId(req, res);
  next();
}

/** Headers and fields that hold secrets: never written to a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.passwordHash',
  '*.password_hash',
  '*.access_token',
  '*.key',
  '*.keyHash',
  '*.secret',
];

/** Load balancers and orchestrators probe these every few seconds: not news at `info`. */
const PROBE_PATHS = new Set(['/health', '/health/ready']);

/** Probes at debug, refusals at warn, failures at error, the rest at info. */
export function requestLogLevel(req: IncomingMessage, res: ServerResponse, error?: Error): Level {
  if (error || res.statusCode >= 500) return 'error';
  if (PROBE_PATHS.has((req.url ?? '').split('?')[0])) return 'debug';
  return res.statusCode >= 400 ? 'warn' : 'info';
}

/** One coloured line per entry in development, when pino-pretty is installed (never in the image). */
function prettyTransport(env: AppConfig['app']['env']) {
  if (env !== 'development') return undefined;
  try {
    require.resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname,context' } };
}

/**
 * One line per answered request, as pino-http wrote it (`{req, res, responseTime}`, "request
 * completed"), but for nothing else: no child logger per request, no serializers, no closures,
 * and nothing at all past the level check for a line that is not written. (pino-http built two
 * child loggers per request and ran the redaction on them whether or not a line followed: a tenth
 * of a request's CPU.)
 */
export function requestLogging(
  logger: PinoLogger,
): (req: Request, res: ServerResponse, next: () => void) => void {
  if (!logger.isLevelEnabled('error')) return (_req, _res, next) => next();
  function onClose(this: ServerResponse): void {
    const req = this.req as TimedRequest;
    // Answered in full by the app (end() called), even if the client left before the last byte.
    const finished = this.writableEnded;
    const level = requestLogLevel(req, this);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        context: 'HTTP',
        req: { id: req.id, method: req.method, url: req.originalUrl ?? req.url },
        res: { statusCode: this.statusCode },
        responseTime: Date.now() - (req[STARTED_AT] ?? Date.now()),
      },
      finished ? 'request completed' : 'request aborted',
    );
  }
  return (req, res, next) => {
    (req as TimedRequest)[STARTED_AT] = Date.now();
    res.on('close', onClose);
    next();
  };
}

const STARTED_AT = Symbol('startedAt');
type TimedRequest = Request & { [STARTED_AT]?: number };

/** The root logger the app logs through (the one LoggingModule gives nestjs-pino). */
export function rootLogger(app: INestApplicationContext): PinoLogger {
  const { pinoHttp } = app.get<Params>(PARAMS_PROVIDER_TOKEN);
  return (pinoHttp as { logger: PinoLogger }).logger;
}

/**
 * The app's logger, through nestjs-pino for Nest's own `Logger`. Without its request middleware:
 * that kept each request's child logger in an AsyncLocalStorage, whose hooks Node 20 runs on every
 * promise of every request, logged or not. Request lines are `requestLogging`'s; a line written
 * while serving a request names it when it matters (the exception filter's).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>): Params => ({
        pinoHttp: {
          logger: pino({
            level: config.get('app', { infer: true }).logLevel,
            transport: prettyTransport(config.get('app', { infer: true }).env),
            redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          }),
        },
        useExisting: true,
        forRoutes: [],
      }),
    }),
  ],
})
export class LoggingModule {}
