import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { PlansService } from '../catalogue/plans.service';
import { validationFailed } from '../common/domain-error';
import { decodeCursor, NEWEST_FIRST, Page, PageQueryDto, toPage } from '../common/pagination';
import { isNoFasterThan } from '../limits/rate-limit';
import { Membership } from '../orgs/orgs.repository';
import { generateApiKey } from './api-key-format';
import { API_KEY_SCOPES } from './api-key-scopes';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { ApiKeysError } from './api-keys.errors';
import { ApiKeyRow, ApiKeysRepository } from './api-keys.repository';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-keys.dto';

export function toApiKeyDto(row: ApiKeyRow): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    rateLimit:
      row.rateLimit !== null && row.rateLimitPeriodSeconds !== null
        ? { limit: row.rateLimit, periodSeconds: row.rateLimitPeriodSeconds }
        : null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

const keyNotFound = () => new ApiKeysError('api_key_not_found', 'API key not found');

/** Issuing, listing, revoking and rotating an org's keys; each change is audited in its transaction. */
@Injectable()
export class ApiKeysService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditService,
    private readonly verifier: ApiKeyVerifier,
    private readonly plans: PlansService,
  ) {}

  async create(actor: Membership, body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw validationFailed([{ field: 'expiresAt', message: 'expiresAt must be in the future' }]);
    }
    if (body.rateLimit) {
      // The plan's limit is the org's, shared by all its keys: a key's own may only be tighter.
      const plan = await this.plans.findPlanForOrg(actor.orgId);
      if (plan && !isNoFasterThan(body.rateLimit, plan.rateLimit)) {
        const { limit, periodSeconds } = plan.rateLimit;
        throw new ApiKeysError(
          'rate_limit_above_plan',
          `rateLimit may not exceed the plan's ${limit} requests per ${periodSeconds} s`,
        );
      }
    }
    const generated = generateApiKey();
    return this.dataSource.transaction(async (manager) => {
      const row = await this.keys.insertKey(manager, actor.orgId, {
        name: body.name,
        prefix: generated.prefix,
        hash: generated.hash,
        scopes: body.scopes ?? [...API_KEY_SCOPES],
        rateLimit: body.rateLimit?.limit ?? null,
        rateLimitPeriodSeconds: body.rateLimit?.periodSeconds ?? null,
        expiresAt,
        createdBy: actor.userId,
        replacesKeyId: null,
      });
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'api_key.created',
        targetType: 'api_key',
        targetId: row.id,
        meta: { name: row.name, prefix: row.prefix, scopes: row.scopes },
      });
      return { ...toApiKeyDto(row), key: generated.key };
    });
  }

  async list(orgId: string, page: PageQueryDto): Promise<Page<ApiKeyDto>> {
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.keys.listKeys(orgId, page.limit, after);
    return toPage(rows, page.limit, (k) => [k.createdAt, k.id], toApiKeyDto);
  }

  /** Idempotent: revoking a revoked key changes nothing and records nothing. */
  async revoke(actor: Membership, keyId: string): Promise<void> {
    const hash = await this.dataSource.transaction(async (manager) => {
      const key = await this.keys.lockKey(manager, actor.orgId, keyId);
      if (!key) throw keyNotFound();
      if (key.revokedAt) return null;
      await this.keys.markRevoked(manager, actor.orgId, keyId);
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'api_key.revoked',
        targetType: 'api_key',
        targetId: keyId,
        meta: { name: key.name, prefix: key.prefix },
      });
      return key.hash;
    });
    if (hash) await this.verifier.invalidate({ hash });
  }

  /** A new key with the same settings; the old one keeps working for `graceSeconds`. */
  async rotate(actor: Membership, keyId: string, graceSeconds: number): Promise<CreatedApiKeyDto> {
    const generated = generateApiKey();
    const { created, oldHash } = await this.dataSource.transaction(async (manager) => {
      const old = await this.keys.lockKey(manager, actor.orgId, keyId);
      if (!old) throw keyNotFound();
      if (old.revokedAt) throw new ApiKeysError('key_revoked', 'A revoked key cannot be rotated');
      if (old.expiresAt && old.expiresAt.getTime() <= Date.now())
        throw new ApiKeysError('key_expired', 'An expired key cannot be rotated');
      const row = await this.keys.insertKey(manager, actor.orgId, {
        name: old.name,
        prefix: generated.prefix,
        hash: generated.hash,
        scopes: old.scopes,
        rateLimit: old.rateLimit,
        rateLimitPeriodSeconds: old.rateLimitPeriodSeconds,
        expiresAt: old.expiresAt,
        createdBy: actor.userId,
        replacesKeyId: old.id,
      });
      const oldExpiresAt = await this.keys.shortenExpiry(
        manager,
        actor.orgId,
        old.id,
        graceSeconds,
      );
      await this.audit.record(manager, actor.orgId, {
        actorUserId: actor.userId,
        action: 'api_key.rotated',
        targetType: 'api_key',
        targetId: old.id,
        meta: {
          newKeyId: row.id,
          gracePeriodSeconds: graceSeconds,
          oldKeyExpiresAt: oldExpiresAt.toISOString(),
        },
      });
      return { created: { ...toApiKeyDto(row), key: generated.key }, oldHash: old.hash };
    });
    await this.verifier.invalidate({ hash: oldHash });
    return created;
  }
}
