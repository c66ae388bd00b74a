import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the limiter decided for one request (the values of `admission_decisions_total`). */
export type AdmissionOutcome =
  | 'allowed'
  | 'rate_limited'
  | 'quota_exceeded'
  /** Redis could not be asked; `RATE_LIMIT_FAILURE_MODE=open` let the request through. */
  | 'failed_open'
  /** Redis could not be asked; `RATE_LIMIT_FAILURE_MODE=closed` answered 503. */
  | 'failed_closed';

/** How one webhook delivery attempt ended. */
export type WebhookDeliveryOutcome =
  /** A 2xx answer: the message is delivered. */
  | 'delivered'
  /** Anything else (status, timeout, refused address): another attempt is scheduled. */
  | 'retrying'
  /** The last attempt failed: the message is marked `failed`. */
  | 'failed';

/** What `db_pool_*` reads from a node-postgres Pool. */
export interface PoolFigures {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max?: number };
}

/** What `redis_connected` reads from an ioredis client (one server or a Cluster). */
export interface ConnectionState {
  status: string;
  on(event: 'error' | 'node error', listener: () => void): unknown;
}

/** Seconds, for request latencies: 5 ms to 10 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics of this instance. A registry per app instance (not prom-client's global one),
 * so that several instances in one process — as in the e2e tests — do not collide.
 *
 * Every label takes its values from a small fixed set (outcomes, route templates, status codes,
 * error codes): never an id, a URL or anything a client chooses. Pools and connections are read
 * when scraped, not on the request path.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  // HTTP ---------------------------------------------------------------------------------------

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route template, method and status, and how long they took (its _count is the request count)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly httpErrors = new Counter({
    name: 'http_error_responses_total',
    help: 'Error answers by status and error code (database_unavailable, rate_limited, internal_error, ...)',
    labelNames: ['status', 'code'] as const,
    registers: [this.registry],
  });

  /** Counts one error answer (what the exception filters are told of each). */
  readonly countErrorAnswer = (status: number, code: string): void => {
    this.httpErrors.inc({ status, code });
  };

  // Limits -------------------------------------------------------------------------------------

  readonly admissionDecisions = new Counter({
    name: 'admission_decisions_total',
    help: 'Rate-limit and hard-quota decisions of /v1 calls, by outcome (allowed, rate_limited, quota_exceeded, failed_open, failed_closed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

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

  // Metering -----------------------------------------------------------------------------------

  readonly eventsIngested = new Counter({
    name: 'usage_events_ingested_total',
    help: 'Usage events stored (new ids), from /v1/events, verify and @Metered routes',
    registers: [this.registry],
  });

  readonly eventsDuplicated = new Counter({
    name: 'usage_events_duplicates_total',
    help: 'Usage events not stored because their id was already taken (idempotent repeats)',
    registers: [this.registry],
  });

  readonly writerBatchRows = new Histogram({
    name: 'usage_writer_batch_rows',
    help: 'Events written by one group-commit statement',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });

  readonly writerFlushDuration = new Histogram({
    name: 'usage_writer_flush_duration_seconds',
    help: 'How long one group-commit statement took, until committed',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  // API keys -----------------------------------------------------------------------------------

  readonly apiKeyCacheLookups = new Counter({
    name: 'api_key_cache_lookups_total',
    help: 'API key look-ups: hit (cached), miss (read from Postgres), bypass (read from Postgres because key invalidations could not be received)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly apiKeyCacheSubscribed = new Gauge({
    name: 'api_key_cache_subscribed',
    help: '1 while this instance receives key invalidations over Redis (and may trust its key cache)',
    registers: [this.registry],
  });

  // Webhooks (wired by the delivery worker) ----------------------------------------------------

  private readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, retrying, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookDeliveryDuration = new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: 'How long one webhook delivery attempt took (the receiver, DNS and connection included)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly webhookOutboxDue = new Gauge({
    name: 'webhook_outbox_due',
    help: 'Webhook messages whose next attempt is due and not yet made, as of the last pass of the delivery worker',
    registers: [this.registry],
  });

  private readonly webhookOutboxOldestDueAge = new Gauge({
    name: 'webhook_outbox_oldest_due_age_seconds',
    help: 'How long the oldest due webhook message has waited past its attempt time, as of the last pass of the delivery worker (0: none due)',
    registers: [this.registry],
  });

  // Dependencies -------------------------------------------------------------------------------

  readonly redisErrors = new Counter({
    name: 'redis_errors_total',
    help: 'Errors the Redis client reported (failed connections and reconnections, Cluster node errors)',
    registers: [this.registry],
  });

  private readonly redisClients: ConnectionState[] = [];

  private readonly pools = new Map<string, PoolFigures>();
  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.poolGauge(
      'db_pool_connections_in_use',
      'Postgres connections of the pool running a query or transaction',
      (p) => p.totalCount - p.idleCount,
    );
    this.poolGauge(
      'db_pool_connections_idle',
      'Postgres connections of the pool open and idle',
      (p) => p.idleCount,
    );
    this.poolGauge(
      'db_pool_waiting_clients',
      'Queries waiting for a connection of the pool (all of its connections are in use)',
      (p) => p.waitingCount,
    );
    this.poolGauge(
      'db_pool_max_connections',
      'Size of the pool (DATABASE_POOL_SIZE; the reports pool has a quarter of it)',
      (p) => p.options.max ?? 10,
    );
  }

  /** Counts one webhook delivery attempt (and how long it took, when known). */
  recordWebhookDelivery(outcome: WebhookDeliveryOutcome, seconds?: number): void {
    this.webhookDeliveries.inc({ outcome });
    if (seconds !== undefined) this.webhookDeliveryDuration.observe(seconds);
  }

  /**
   * What the delivery worker found in the outbox on its last pass: the messages whose attempt is
   * due (next attempt time passed, pending), and how far past it the oldest of them is. Messages
   * waiting for a later retry are not counted: a receiver that is down is its owner's problem, a
   * worker that falls behind is the operator's.
   */
  observeWebhookOutbox(due: number, oldestDueAgeSeconds: number): void {
    this.webhookOutboxDue.set(due);
    this.webhookOutboxOldestDueAge.set(oldestDueAgeSeconds);
  }

  /** Reports a Postgres pool as `pool="<name>"` (read when scraped). */
  watchDatabasePool(name: string, pool: PoolFigures): void {
    this.pools.set(name, pool);
  }

  /** Counts the errors of a Redis client and reports whether it is connected. */
  watchRedis(client: ConnectionState): void {
    // Registered with the first client: without Redis there is no such series (rather than a 0
    // that would read as "disconnected").
    if (this.redisClients.length === 0) {
      const clients = this.redisClients;
      new Gauge({
        name: 'redis_connected',
        help: '1 while the shared Redis (server or Cluster) connection is ready; absent without Redis',
        registers: [this.registry],
        collect() {
          this.set(clients.every((c) => c.status === 'ready') ? 1 : 0);
        },
      });
    }
    this.redisClients.push(client);
    const count = () => this.redisErrors.inc();
    client.on('error', count);
    client.on('node error', count);
  }

  private poolGauge(name: string, help: string, read: (pool: PoolFigures) => number): void {
    const pools = this.pools;
    new Gauge({
      name,
      help,
      labelNames: ['pool'] as const,
      registers: [this.registry],
      collect() {
        for (const [pool, figures] of pools) this.set({ pool }, read(figures));
      },
    });
  }
}
