import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Level } from 'pino';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
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

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => ({
        pinoHttp: {
          level: config.get('app', { infer: true }).logLevel,
          transport: prettyTransport(config.get('app', { infer: true }).env),
          genReqId: assignRequestId,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          customProps: () => ({ context: 'HTTP' }),
          customLogLevel: requestLogLevel,
          serializers: {
            req: (req: { id: string; method: string; url: string }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
            }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
