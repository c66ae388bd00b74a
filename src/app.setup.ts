import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfig } from './config/configuration';
import { GracefulShutdown } from './common/graceful-shutdown';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { requestIdMiddleware, requestLogging, rootLogger } from './common/logging.module';
import { bodyReader, rejectUnsafeUrl } from './common/request-body';
import { AppValidationPipe } from './common/validation.pipe';
import { httpMetricsMiddleware } from './metrics/http-metrics';
import { MetricsService } from './metrics/metrics.service';
import { createOpenApiDocument } from './openapi';

/** Routes that take the OAuth2 password form besides JSON. */
const FORM_ROUTES = ['/auth/login'];

/**
 * Everything global about the HTTP surface, shared by `main.ts` and the e2e tests so that the
 * tests exercise exactly what production serves. The app must be created with `bodyParser: false`.
 */
export async function configureApp(
  app: NestExpressApplication,
  shutdown = new GracefulShutdown(),
): Promise<void> {
  const { trustProxy, corsOrigins } = app.get(ConfigService<AppConfig, true>).get('app', {
    infer: true,
  });
  const metrics = app.get(MetricsService);
  app.use(shutdown.middleware);
  app.use(httpMetricsMiddleware(metrics));
  app.use(requestIdMiddleware);
  app.use(requestLogging(rootLogger(app)));
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  if (trustProxy !== false) app.set('trust proxy', trustProxy);
  if (corsOrigins.length > 0) {
    app.enableCors({
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      exposedHeaders: [
        'X-Request-Id',
        'Retry-After',
        'RateLimit-Limit',
        'RateLimit-Remaining',
        'RateLimit-Reset',
        'RateLimit-Policy',
        'RateLimit',
      ],
    });
  }
  // The API's answers are data, never a page: they may load nothing and be framed by no one
  // (OWASP's REST headers; helmet's default policy is a web page's, with inline styles). Only
  // Swagger UI's page and assets get a page's policy, with its inline script.
  const apiHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] },
    },
  });
  const docsHeaders = helmet({
    contentSecurityPolicy: {
      directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) =>
    (req.path === '/docs' || req.path.startsWith('/docs/') ? docsHeaders : apiHeaders)(
      req,
      res,
      next,
    ),
  );
  app.use(rejectUnsafeUrl);
  const jsonBody = bodyReader({ limit: '1mb' });
  const loginBody = bodyReader({ limit: '16kb', form: true });
  // `/v1` bodies are read by their route once the API key is accepted (see @ApiKeyAuth).
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path.startsWith('/v1/')) return next();
    (FORM_ROUTES.includes(req.path) ? loginBody : jsonBody)(req, res, next);
  });
  app.useGlobalPipes(new AppValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter(metrics.countErrorAnswer));
  await setupSwagger(app);
}

async function setupSwagger(app: INestApplication): Promise<void> {
  SwaggerModule.setup('docs', app, await createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    // Swagger UI keeps the token it got from Authorize across reloads.
    swaggerOptions: { persistAuthorization: true },
  });
}
