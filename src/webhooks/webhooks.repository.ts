import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { NewestFirst } from '../common/pagination';
import { requireOrgId } from '../database/tenant-scope';
import { WebhookEventType } from './webhook-signing';

export interface EndpointRow {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: Date;
}

export interface DeliveryRow {
  id: string;
  messageId: string;
  type: WebhookEventType;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  nextAttemptAt: Date;
  createdAt: Date;
}

/** A delivery claimed for one attempt: what to send, where, and signed with what. */
export interface ClaimedDelivery {
  id: string;
  messageId: string;
  url: string;
  secret: string;
  body: string;
  attempts: number;
  firstAttemptAt: Date;
}

const ENDPOINT_COLUMNS = `id, url, events, created_at AS "createdAt"`;

/** Webhook endpoints, the outbox of messages, and their deliveries. */
@Injectable()
export class WebhooksRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertEndpoint(
    manager: EntityManager,
    orgId: string,
    endpoint: { url: string; events: WebhookEventType[]; secret: string },
  ): Promise<EndpointRow> {
    const [row] = await manager.query(
      `INSERT INTO webhook_endpoints (org_id, url, events, secret) VALUES ($1, $2, $3, $4)
       RETURNING ${ENDPOINT_COLUMNS}`,
      [requireOrgId(orgId), endpoint.url, endpoint.events, endpoint.secret],
    );
    return row;
  }

  /** The org's endpoints, locked (so that a count and an insert decide together). */
  async lockEndpoints(manager: EntityManager, orgId: string): Promise<number> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `webhooks:${requireOrgId(orgId)}`,
    ]);
    const [row] = await manager.query(
      `SELECT count(*)::int AS n FROM webhook_endpoints WHERE org_id = $1`,
      [orgId],
    );
    return row.n;
  }

  listEndpoints(orgId: string, limit: number, after?: NewestFirst): Promise<EndpointRow[]> {
    return this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
        WHERE org_id = $1
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $4`,
      [requireOrgId(orgId), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }

  async endpointExists(orgId: string, id: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `SELECT 1 FROM webhook_endpoints WHERE org_id = $1 AND id = $2`,
      [requireOrgId(orgId), id],
    );
    return rows.length > 0;
  }

  /** Deletes the endpoint and its deliveries; false when the org has no such endpoint. */
  async deleteEndpoint(manager: EntityManager, orgId: string, id: string): Promise<boolean> {
    const [, affected]: [unknown, number] = await manager.query(
      `DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2`,
      [requireOrgId(orgId), id],
    );
    return affected > 0;
  }

  listDeliveries(
    orgId: string,
    endpointId: string,
    limit: number,
    after?: NewestFirst,
  ): Promise<DeliveryRow[]> {
    return this.dataSource.query(
      `SELECT d.id, d.message_id AS "messageId", m.type, d.status, d.attempts,
              d.last_status_code AS "lastStatusCode", d.next_attempt_at AS "nextAttemptAt",
              d.created_at AS "createdAt"
         FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
        WHERE d.org_id = $1 AND d.endpoint_id = $2
          AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
        ORDER BY d.created_at DESC, d.id DESC
        LIMIT $5`,
      [requireOrgId(orgId), endpointId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }

  /** Writes a message to the outbox (once per `dedupeKey`) with a delivery per subscribed endpoint. */
  async enqueue(
    manager: EntityManager,
    orgId: string,
    type: WebhookEventType,
    data: object,
    dedupeKey: string,
  ): Promise<void> {
    await manager.query(`SELECT enqueue_webhook($1, $2, $3::jsonb, $4)`, [
      requireOrgId(orgId),
      type,
      JSON.stringify(data),
      dedupeKey,
    ]);
  }

  /**
   * Claims up to `limit` due deliveries for one attempt each: the attempt is counted and the
   * delivery leased (not due again for `leaseSeconds`, in case this instance dies mid-attempt).
   * SKIP LOCKED: instances never claim the same delivery.
   */
  claimDue(limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
    return this.dataSource.query(
      `WITH claimed AS (
         UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1,
                first_attempt_at = COALESCE(d.first_attempt_at, clock_timestamp()),
                next_attempt_at = clock_timestamp() + make_interval(secs => $2)
          WHERE d.id IN (SELECT id FROM webhook_deliveries
                          WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()
                          ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING d.id, d.message_id, d.endpoint_id, d.attempts, d.first_attempt_at)
       SELECT c.id, c.message_id AS "messageId", e.url, e.secret, m.body, c.attempts,
              c.first_attempt_at AS "firstAttemptAt"
         FROM claimed c
         JOIN webhook_endpoints e ON e.id = c.endpoint_id
         JOIN webhook_messages m ON m.id = c.message_id`,
      [limit, leaseSeconds],
    );
  }

  /** The outcome of an attempt: delivered, failed for good, or due again at `nextAttemptAt`. */
  async recordAttempt(
    id: string,
    outcome:
      | { status: 'delivered'; statusCode: number }
      | { status: 'failed' | 'pending'; statusCode?: number; error: string; nextAttemptAt?: Date },
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries
          SET status = $2, last_status_code = $3, last_error = $4,
              next_attempt_at = COALESCE($5::timestamptz, next_attempt_at)
        WHERE id = $1`,
      [
        id,
        outcome.status,
        outcome.statusCode ?? null,
        'error' in outcome ? outcome.error.slice(0, 500) : null,
        'nextAttemptAt' in outcome ? (outcome.nextAttemptAt?.toISOString() ?? null) : null,
      ],
    );
  }

  /**
   * The deliveries whose attempt is due and not yet claimed, and how long the oldest of them has
   * been due (0 when none): how far the workers are behind, for alerting.
   */
  async dueBacklog(): Promise<{ due: number; oldestDueSeconds: number }> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS due,
              COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(next_attempt_at)), 0)::float8 AS age
         FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()`,
    );
    return { due: row.due, oldestDueSeconds: Number(row.age) };
  }
}
