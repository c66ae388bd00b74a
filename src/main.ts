import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfig } from './config/configuration';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
  });
  configureApp(app);
  const { port } = app.get(ConfigService<AppConfig, true>).get('app', { infer: true });
  await app.listen(port);
}

bootstrap().catch((error: Error) => {
  // The logger may not exist yet (a configuration error stops the boot before it does).
  console.error(error.message);
  process.exit(1);
});
