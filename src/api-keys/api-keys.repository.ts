import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { NewestFirst } from '../common/pagination';
import { requireOrgId } from '../database/tenant-scope';
import { ApiKeyScope } from './api-key-scopes';

export interface ApiKeyRow {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  rateLimit: number | null;
  rateLimitPeriodSeconds: number | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** What the request path needs to know about a key, found by the hash of its secret. */
export interface KeyCredentialRow {
  id: string;
  orgId: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  rateLimit: number | null;
  rateLimitPeriodSeconds: number | null;
  planCode: string;
}

export interface NewApiKey {
  name: string;
  prefix: string;
  hash: string;
  scopes: ApiKeyScope[];
  rateLimit: number | null;
  rateLimitPeriodSeconds: number | null;
  expiresAt: Date | null;
  createdBy: string | null;
  replacesKeyId: string | null;
}

const KEY_COLUMNS = `id, org_id AS "orgId", name, prefix, scopes, rate_limit AS "rateLimit",
  rate_limit_period_seconds AS "rateLimitPeriodSeconds", expires_at AS "expiresAt",
  last_used_at AS "lastUsedAt", revoked_at AS "revokedAt", created_at AS "createdAt"`;

@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertKey(manager: EntityManager, orgId: string, key: NewApiKey): Promise<ApiKeyRow> {
    const [row] = await manager.query(
      `INSERT INTO api_keys (org_id, name, prefix, key_hash, scopes, rate_limit, rate_limit_period_seconds,
                             expires_at, created_by, replaces_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING ${KEY_COLUMNS}`,
      [
        requireOrgId(orgId),
        key.name,
        key.prefix,
        key.hash,
        key.scopes,
        key.rateLimit,
        key.rateLimitPeriodSeconds,
        key.expiresAt,
        key.createdBy,
        key.replacesKeyId,
      ],
    );
    return row;
  }

  listKeys(orgId: string, limit: number, after?: NewestFirst): Promise<ApiKeyRow[]> {
    return this.dataSource.query(
      `SELECT ${KEY_COLUMNS} FROM api_keys
        WHERE org_id = $1
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $4`,
      [requireOrgId(orgId), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }

  /** The key and its hash, locked for the rest of the transaction. */
  async lockKey(
    manager: EntityManager,
    orgId: string,
    keyId: string,
  ): Promise<(ApiKeyRow & { hash: string }) | null> {
    const rows = await manager.query(
      `SELECT ${KEY_COLUMNS}, key_hash AS hash FROM api_keys WHERE org_id = $1 AND id = $2 FOR UPDATE`,
      [requireOrgId(orgId), keyId],
    );
    return rows[0] ?? null;
  }

  async markRevoked(manager: EntityManager, orgId: string, keyId: string): Promise<void> {
    await manager.query(
      `UPDATE api_keys SET revoked_at = clock_timestamp() WHERE org_id = $1 AND id = $2`,
      [requireOrgId(orgId), keyId],
    );
  }

  /** Ends a rotated key's life `graceSeconds` from now, unless it was to expire sooner anyway. */
  async shortenExpiry(
    manager: EntityManager,
    orgId: string,
    keyId: string,
    graceSeconds: number,
  ): Promise<Date> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [[row]] = await manager.query(
      `UPDATE api_keys
          SET expires_at = LEAST(COALESCE(expires_at, 'infinity'),
                                 date_trunc('milliseconds', clock_timestamp()) + make_interval(secs => $3))
        WHERE org_id = $1 AND id = $2
        RETURNING expires_at AS "expiresAt"`,
      [requireOrgId(orgId), keyId, graceSeconds],
    );
    return row.expiresAt;
  }

  /** The hot-path look-up (by the secret's hash; the hash is unguessable, so no org scope). */
  async findCredentialByHash(hash: string): Promise<KeyCredentialRow | null> {
    const rows = await this.dataSource.query(
      `SELECT k.id, k.org_id AS "orgId", k.scopes, k.expires_at AS "expiresAt", k.revoked_at AS "revokedAt",
              k.rate_limit AS "rateLimit", k.rate_limit_period_seconds AS "rateLimitPeriodSeconds",
              o.plan_code AS "planCode"
         FROM api_keys k
         JOIN orgs o ON o.id = k.org_id
        WHERE k.key_hash = $1`,
      [hash],
    );
    return rows[0] ?? null;
  }

  /** Records use; a key already marked within the last minute is left alone. */
  async touchLastUsed(keyIds: string[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_keys SET last_used_at = date_trunc('milliseconds', clock_timestamp())
        WHERE id = ANY($1::uuid[])
          AND (last_used_at IS NULL OR last_used_at < clock_timestamp() - interval '1 minute')`,
      [keyIds],
    );
  }
}
