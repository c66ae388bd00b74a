import {
  Controller,
  Get,
  Header,
  Headers,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import { Public } from '../common/auth.decorators';
import { AppConfig } from '../config/configuration';
import { MetricsService } from './metrics.service';

/**
 * Prometheus scrape endpoint. With `METRICS_TOKEN` it wants that bearer token; without one it is
 * open outside production (local work) and does not exist in production.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly token?: Buffer;
  private readonly hidden: boolean;

  constructor(
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    const app = config.get('app', { infer: true });
    this.token = app.metricsToken ? Buffer.from(app.metricsToken) : undefined;
    this.hidden = !this.token && app.env === 'production';
  }

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  scrape(@Headers('authorization') authorization?: string): Promise<string> {
    // The router's own answer to a route that does not exist, word for word.
    if (this.hidden) throw new NotFoundException('Cannot GET /metrics');
    if (this.token && !this.authorized(authorization)) {
      throw new UnauthorizedException({
        code: 'invalid_token',
        message: 'GET /metrics wants Authorization: Bearer <METRICS_TOKEN>',
      });
    }
    return this.metrics.registry.metrics();
  }

  private authorized(authorization: string | undefined): boolean {
    const presented = Buffer.from(/^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '');
    return presented.length === this.token!.length && timingSafeEqual(presented, this.token!);
  }
}
