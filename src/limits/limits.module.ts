import { Module } from '@nestjs/common';
import { LeaseLimiter } from './lease-limiter';
import { LimiterService } from './limiter.service';
import { QuotaFallback } from './quota-fallback.service';
import { QuotaLedgerRepository } from './quota-ledger.repository';
import { RedisCircuit } from './redis-circuit';

/**
 * Rate limits and hard quotas (GCRA on Redis or in process, one Lua call per request, the Postgres
 * fallback), and the best-effort counters behind login and API key throttling.
 */
@Module({
  providers: [LimiterService, QuotaFallback, QuotaLedgerRepository, RedisCircuit, LeaseLimiter],
  exports: [LimiterService, QuotaFallback, RedisCircuit, LeaseLimiter],
})
export class LimitsModule {}
