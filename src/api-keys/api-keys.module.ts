import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { OrgGuardModule } from '../orgs/org-guard.module';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyUsageTracker } from './api-key-usage.tracker';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

@Module({
  imports: [OrgGuardModule, AuditModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyVerifier, ApiKeyUsageTracker, ApiKeyGuard],
  exports: [ApiKeyVerifier, ApiKeyUsageTracker, ApiKeyGuard],
})
export class ApiKeysModule {}
