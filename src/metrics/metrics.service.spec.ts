import { EventEmitter } from 'node:events';
import { MetricsService } from './metrics.service';

describe('MetricsService', () => {
  let metrics: MetricsService;
  const scrape = () => metrics.registry.metrics();

  beforeEach(() => (metrics = new MetricsService()));

  it('counts webhook deliveries by outcome and reports the due outbox (the delivery worker’s hooks)', async () => {
    metrics.recordWebhookDelivery('delivered', 0.2);
    metrics.recordWebhookDelivery('retrying', 10);
    metrics.recordWebhookDelivery('retrying');
    metrics.recordWebhookDelivery('failed');
    metrics.observeWebhookOutbox(7, 42.5);
    const text = await scrape();
    expect(text).toMatch(/^webhook_deliveries_total\{outcome="delivered"\} 1$/m);
    expect(text).toMatch(/^webhook_deliveries_total\{outcome="retrying"\} 2$/m);
    expect(text).toMatch(/^webhook_deliveries_total\{outcome="failed"\} 1$/m);
    expect(text).toMatch(/^webhook_delivery_duration_seconds_count 2$/m);
    expect(text).toMatch(/^webhook_outbox_due 7$/m);
    expect(text).toMatch(/^webhook_outbox_oldest_due_age_seconds 42.5$/m);
  });

  it('reads each watched Postgres pool when scraped', async () => {
    const pool = { totalCount: 4, idleCount: 1, waitingCount: 2, options: { max: 5 } };
    metrics.watchDatabasePool('main', pool);
    let text = await scrape();
    expect(text).toMatch(/^db_pool_connections_in_use\{pool="main"\} 3$/m);
    expect(text).toMatch(/^db_pool_connections_idle\{pool="main"\} 1$/m);
    expect(text).toMatch(/^db_pool_waiting_clients\{pool="main"\} 2$/m);
    expect(text).toMatch(/^db_pool_max_connections\{pool="main"\} 5$/m);
    pool.waitingCount = 0;
    text = await scrape();
    expect(text).toMatch(/^db_pool_waiting_clients\{pool="main"\} 0$/m);
  });

  it('counts Redis client errors and reports the connection as it is when scraped', async () => {
    expect(await scrape()).not.toMatch(/^redis_connected /m);
    const client = Object.assign(new EventEmitter(), { status: 'ready' });
    metrics.watchRedis(client);
    expect(await scrape()).toMatch(/^redis_connected 1$/m);
    client.status = 'reconnecting';
    client.emit('error', new Error('connect ECONNREFUSED'));
    client.emit('node error', new Error('connect ECONNREFUSED'), '127.0.0.1:7001');
    const text = await scrape();
    expect(text).toMatch(/^redis_connected 0$/m);
    expect(text).toMatch(/^redis_errors_total 2$/m);
  });
});
