import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { GracefulShutdown } from './common/graceful-shutdown';
import { AppConfig } from './config/configuration';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
  });
  const shutdown = new GracefulShutdown();
  await configureApp(app, shutdown);
  const { port } = app.get(ConfigService<AppConfig, true>).get('app', { infer: true });
  await app.listen(port);
  shutdown.listen(app);
}

bootstrap().catch((error: Error) => {
  // The logger may not exist yet (a configuration error stops the boot before it does).
  console.error(error.message);
  process.exit(1);
});
