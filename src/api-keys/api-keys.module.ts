import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { LimitsModule } from '../limits/limits.module';
import { OrgsModule } from '../orgs/orgs.module';
import { ApiKeyFailureLimiter } from './api-key-failures';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyUsageTracker } from './api-key-usage.tracker';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

/** Issuing and revoking an org's keys, and authenticating `/v1` calls by them. */
@Module({
  imports: [OrgsModule, AuditModule, CatalogueModule, LimitsModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    ApiKeyVerifier,
    ApiKeyUsageTracker,
    ApiKeyFailureLimiter,
    ApiKeyGuard,
  ],
  exports: [ApiKeyGuard, ApiKeyVerifier, ApiKeyFailureLimiter, ApiKeyUsageTracker],
})
export class ApiKeysModule {}
