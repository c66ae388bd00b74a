/**
 * The framework's own ceiling (see ceiling.ts): a bare Nest 11 app on Express with what a metered
 * call cannot do without and nothing else. `GET /health` answers a constant; `POST /verify` has a
 * guard that finds the key in a Map and makes the one EVALSHA of the product's limiter script,
 * reads a JSON body, and answers a constant. No middleware, no logging, no validation, no metrics.
 */
import 'reflect-metadata';
import {
  Body,
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Redis from 'ioredis';
import { LIMITER_LUA } from '../src/limits/limiter.lua';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  enableAutoPipelining: true,
  keyPrefix: process.env.CEILING_PREFIX ?? 'ceiling:',
});
const keys = new Map([[process.env.CEILING_KEY ?? 'sk_ceiling', { orgId: 'org' }]]);
let limiterSha = '';

@Injectable()
class KeyGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    const key = keys.get(request.headers['x-api-key']);
    if (!key) return false;
    // One bucket of 1,000,000 per second, no quota: the same script and arguments as a plain call.
    await redis.evalsha(limiterSha, 1, `{${key.orgId}}:rate`, '1', '', '1', '1000000', '1000');
    return true;
  }
}

@Controller()
class CeilingController {
  @Get('health')
  health(): { status: string } {
    return { status: 'ok' };
  }

  @Post('verify')
  @HttpCode(200)
  @UseGuards(KeyGuard)
  verify(@Body() _body: unknown): { valid: boolean } {
    return { valid: true };
  }
}

@Module({ controllers: [CeilingController], providers: [KeyGuard] })
class CeilingModule {}

async function main(): Promise<void> {
  limiterSha = (await redis.script('LOAD', LIMITER_LUA)) as string;
  const app = await NestFactory.create(CeilingModule, { logger: false });
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`listening ${await app.getUrl()}\n`);
  const stop = () => void app.close().then(() => redis.quit().finally(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
