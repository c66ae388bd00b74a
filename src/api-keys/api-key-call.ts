import { ApiKeyScope } from './api-key-scopes';
import { RateLimit } from '../limits/rate-limit';

/** A key that passed verification: what limits, metering and handlers know of it. */
export interface VerifiedApiKey {
  id: string;
  orgId: string;
  scopes: ApiKeyScope[];
  /** The org's plan: its rate limit is shared by all of the org's keys. */
  planCode: string;
  /** The key's own, tighter limit, if it has one. */
  ownRateLimit: RateLimit | null;
}

/**
 * One `/v1` request made with an accepted key. A new object per request (the verified key itself
 * is cached and shared), so that what is decided for this call — its admission — can be keyed
 * by it without ever seeing the HTTP request.
 */
export class ApiKeyCall {
  constructor(readonly key: VerifiedApiKey) {}
}

/** The outcome of checking a presented key. */
export type ApiKeyCheck =
  { status: 'valid'; call: ApiKeyCall } | { status: 'not_found' | 'revoked' | 'expired' };
