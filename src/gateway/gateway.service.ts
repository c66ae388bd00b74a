import { Injectable } from '@nestjs/common';
import { IncomingHttpHeaders } from 'node:http';
import { extractApiKey } from '../api-keys/api-key-format';
import { ApiKeyUsageTracker } from '../api-keys/api-key-usage.tracker';
import { ApiKeyVerifier, KeyCheck } from '../api-keys/api-key-verifier.service';
import { VerifyCode, VerifyResultDto } from './verify.dto';

const CODES: Record<KeyCheck['status'], VerifyCode> = {
  valid: 'VALID',
  not_found: 'NOT_FOUND',
  revoked: 'REVOKED',
  expired: 'EXPIRED',
};

@Injectable()
export class GatewayService {
  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly usage: ApiKeyUsageTracker,
  ) {}

  async verify(headers: IncomingHttpHeaders): Promise<VerifyResultDto> {
    const result = await this.verifier.check(extractApiKey(headers));
    const key = result.key;
    const base = {
      keyId: key?.id ?? null,
      orgId: key?.orgId ?? null,
      scopes: key?.scopes ?? [],
      ratelimit: key
        ? {
            limit: key.rateLimit.limit,
            remaining: key.rateLimit.limit,
            reset: key.rateLimit.periodSeconds,
          }
        : null,
    };
    if (result.status !== 'valid') return { valid: false, code: CODES[result.status], ...base };
    if (!result.key.scopes.includes('verify')) return { valid: false, code: 'FORBIDDEN', ...base };
    this.usage.noteUse(result.key.id);
    return { valid: true, code: 'VALID', ...base };
  }
}
