import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/configuration';
import { FixedWindowCounter, retryAfterSeconds } from '../limits/fixed-window';
import { RedisCircuit } from '../limits/redis-circuit';

/** Failed logins per email are counted in fixed windows of this length. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;

export type LoginAttempt = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Redis key of one email's counter: a hash, so that no email address is ever stored in Redis. */
export function loginFailureKey(email: string): string {
  const normalised = email.trim().toLowerCase();
  return `login-failures:${createHash('sha256').update(normalised).digest('hex')}`;
}

/**
 * Counts failed logins per email: `LOGIN_FAILURES_PER_EMAIL` in a fixed 15-minute window, then 429
 * until the window ends, whatever the password.
 *
 * An attempt is counted as a failure when it starts (`beginAttempt`, one Redis round trip that also
 * decides whether it may go on) and the count is cleared when it succeeds (`recordSuccess`). So a
 * burst of concurrent guesses gets exactly the limit through, never more, while successful logins
 * never count against the email.
 */
@Injectable()
export class LoginFailureTracker {
  private readonly failures: FixedWindowCounter;
  private readonly limit: number;

  constructor(circuit: RedisCircuit, config: ConfigService<AppConfig, true>) {
    this.failures = new FixedWindowCounter(circuit, 'email', LOGIN_FAILURE_WINDOW_MS);
    this.limit = config.get('auth', { infer: true }).loginFailuresPerEmail;
  }

  async beginAttempt(email: string): Promise<LoginAttempt> {
    const { allowed, msLeft } = await this.failures.take(loginFailureKey(email), this.limit);
    return allowed
      ? { allowed: true }
      : { allowed: false, retryAfterSeconds: retryAfterSeconds(msLeft) };
  }

  recordSuccess(email: string): Promise<void> {
    return this.failures.reset(loginFailureKey(email));
  }
}
