import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
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
  @ApiOperation({ summary: 'Liveness: 200 while the process is up' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: 200 when Postgres and Redis (if configured) answer, else 503',
  })
  @ApiOkResponse({
    schema: {
      example: { status: 'ok', details: { postgres: { status: 'up' }, redis: { status: 'up' } } },
    },
  })
  @ApiServiceUnavailableResponse({ description: '`details` names each dependency and its state' })
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
