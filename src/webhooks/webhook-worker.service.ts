import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Interval } from '@nestjs/schedule';
import { AppConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { deliverWebhook } from './webhook-delivery';
import { nextAttemptAt } from './webhook-retry';
import { signWebhookMessage } from './webhook-signing';
import { ClaimedDelivery, WebhooksRepository } from './webhooks.repository';

/** Deliveries attempted at once by one instance. */
const BATCH = 16;
/** A claimed delivery is not due again for this long: longer than one attempt may take. */
const LEASE_SECONDS = 60;

/**
 * Delivers the outbox: every second, each instance claims the due deliveries no other instance
 * holds (SKIP LOCKED), signs each for this attempt (Standard Webhooks; the message id is stable
 * across attempts) and posts it (10 s, 2xx = delivered, no redirects, the address checked after
 * DNS). A failure is retried after 5 s (WEBHOOK_RETRY_BASE_SECONDS), then each wait 4 times the one
 * before, capped at an hour, until 24 hours have passed: then the delivery is `failed`. A crash
 * mid-attempt leaves the delivery leased; it is tried again when the lease ends (at least once).
 */
@Injectable()
export class WebhookWorker implements OnApplicationShutdown {
  private readonly logger = new Logger(WebhookWorker.name);
  private readonly allowPrivate: boolean;
  private readonly baseSeconds: number;
  private running = false;
  private stopped = false;

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    const settings = config.get('webhooks', { infer: true });
    this.allowPrivate = settings.allowPrivateUrls;
    this.baseSeconds = settings.retryBaseSeconds;
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  @Interval(1_000)
  async deliverDue(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (;;) {
        const claimed = await this.webhooks.claimDue(BATCH, LEASE_SECONDS);
        await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
        if (claimed.length < BATCH || this.stopped) break;
      }
      // What is left due once this pass is done: more than a pass can clear means falling behind.
      const { due, oldestDueSeconds } = await this.webhooks.dueBacklog();
      this.metrics.observeWebhookOutbox(due, oldestDueSeconds);
    } catch (error) {
      this.logger.warn(`Webhook deliveries paused: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const attemptAt = new Date();
    const started = performance.now();
    let result: Awaited<ReturnType<typeof deliverWebhook>>;
    try {
      const headers = signWebhookMessage({
        secret: delivery.secret,
        messageId: delivery.messageId,
        body: delivery.body,
        attemptAt,
      });
      result = await deliverWebhook(
        { url: delivery.url, headers, body: delivery.body },
        { allowPrivate: this.allowPrivate },
      );
    } catch (error) {
      result = { outcome: 'failed', error: (error as Error).message };
    }
    const seconds = (performance.now() - started) / 1000;
    if (result.outcome === 'delivered') {
      this.metrics.recordWebhookDelivery('delivered', seconds);
      await this.webhooks.recordAttempt(delivery.id, {
        status: 'delivered',
        statusCode: result.statusCode,
      });
      return;
    }
    const next = nextAttemptAt(
      new Date(delivery.firstAttemptAt),
      delivery.attempts,
      new Date(),
      this.baseSeconds,
    );
    this.metrics.recordWebhookDelivery(next ? 'retrying' : 'failed', seconds);
    await this.webhooks.recordAttempt(delivery.id, {
      status: next ? 'pending' : 'failed',
      statusCode: result.statusCode,
      error: result.error,
      nextAttemptAt: next ?? undefined,
    });
  }
}
