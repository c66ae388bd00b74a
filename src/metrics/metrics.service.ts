import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/**
 * Prometheus metrics of this instance. A registry per app instance (not prom-client's global one),
 * so that several instances in one process — as in the e2e tests — do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly limiterFailures = new Counter({
    name: 'ratelimit_backend_failures_total',
    help: 'Rate-limit or quota decisions that could not reach Redis, by the failure mode applied',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });

  readonly authThrottleFallbacks = new Counter({
    name: 'auth_throttle_redis_fallbacks_total',
    help: 'Sign-up and login throttling decisions taken in process memory because Redis could not be used',
    labelNames: ['limiter'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
