import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfig } from './config/configuration';
import { formBody, jsonBody } from './common/body-parsers';
import { requireJsonBody } from './common/content-type.middleware';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { requestIdMiddleware } from './common/logging.module';
import { AppValidationPipe } from './common/validation.pipe';

export const BODY_LIMIT = '1mb';
export const EVENTS_BODY_LIMIT = '10mb';
const FORM_ROUTES = ['/auth/login'];

/**
 * Everything global about the HTTP surface, shared by `main.ts` and the e2e tests so that the
 * tests exercise exactly what production serves. The app must be created with `bodyParser: false`.
 */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get(ConfigService<AppConfig, true>);
  app.use(requestIdMiddleware);
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  if (config.get('app', { infer: true }).trustProxy) app.set('trust proxy', true);
  app.use(
    helmet({
      // Swagger UI needs its inline bootstrap script.
      contentSecurityPolicy: {
        directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
      },
    }),
  );
  app.use(requireJsonBody(FORM_ROUTES));
  // A batch of 1000 events of up to 8 KB each needs more room than the default.
  app.use('/v1/events', jsonBody(EVENTS_BODY_LIMIT));
  app.use(jsonBody(BODY_LIMIT));
  app.use(FORM_ROUTES, formBody('16kb'));
  app.useGlobalPipes(new AppValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.enableShutdownHooks();
  setupSwagger(app);
}

function setupSwagger(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Metering platform')
      .setDescription(
        'API keys, rate limits, quotas, usage metering and billing reports. ' +
          'Sign up, log in (Authorize → bearer token), then manage orgs; `/v1/*` routes take an API key.',
      )
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'jwt')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
