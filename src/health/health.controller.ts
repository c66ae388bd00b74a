import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Public } from '../common/auth.decorators';
import { pingRedis, REDIS, RedisClient } from '../redis/redis.module';
import { ApiErrors } from '../common/api-errors';
import { ApiWithoutDatabase } from '../common/api-document.decorators';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: 200 while the process is up' })
  @ApiWithoutDatabase()
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'], example: 'ok' } },
      required: ['status'],
    },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness: 200 when Postgres and Redis (if configured) answer, else 503',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['ok'], example: 'ok' },
        details: {
          type: 'object',
          description: 'Each dependency and its state',
          additionalProperties: {
            type: 'object',
            properties: { status: { type: 'string', enum: ['up', 'down'] } },
            required: ['status'],
          },
          example: { postgres: { status: 'up' }, redis: { status: 'up' } },
        },
      },
      required: ['status', 'details'],
    },
  })
  @ApiErrors({ 503: '`not_ready`: `details` names each dependency and its state' })
  async ready(): Promise<Pick<HealthCheckResult, 'status' | 'details'>> {
    const checks: HealthIndicatorFunction[] = [
      () => this.database.pingCheck('postgres', { timeout: 1_000 }),
    ];
    if (this.redis) checks.push(() => this.pingRedis());
    try {
      const { status, details } = await this.health.check(checks);
      return { status, details };
    } catch (error) {
      const result = (error as ServiceUnavailableException).getResponse?.() as
        HealthCheckResult | undefined;
      if (!result?.details) throw error;
      throw new ServiceUnavailableException({
        code: 'not_ready',
        message: 'A dependency is not available',
        details: result.details,
      });
    }
  }

  private async pingRedis() {
    const redis = this.indicators.check('redis');
    try {
      await pingRedis(this.redis!);
      return redis.up();
    } catch (error) {
      return redis.down({ message: (error as Error).message });
    }
  }
}
