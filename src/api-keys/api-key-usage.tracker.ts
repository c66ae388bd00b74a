import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys.repository';

const MARK_EVERY_MS = 60_000;
const FLUSH_EVERY_MS = 5_000;

/**
 * Keeps `last_used_at` roughly current without touching the request path: uses are noted in
 * memory, at most once per key per minute, and written in one statement every few seconds. A
 * failed write is logged and forgotten; it never fails a request.
 */
@Injectable()
export class ApiKeyUsageTracker implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ApiKeyUsageTracker.name);
  private readonly lastMarked = new Map<string, number>();
  private pending = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly keys: ApiKeysRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  noteUse(keyId: string, now = Date.now()): void {
    const last = this.lastMarked.get(keyId);
    if (last !== undefined && now - last < MARK_EVERY_MS) return;
    this.lastMarked.set(keyId, now);
    this.pending.add(keyId);
    if (this.lastMarked.size > 100_000) this.lastMarked.clear();
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const ids = [...this.pending];
    this.pending = new Set();
    try {
      await this.keys.touchLastUsed(ids);
    } catch (error) {
      this.logger.warn(
        `last_used_at not written for ${ids.length} key(s): ${(error as Error).message}`,
      );
    }
  }
}
