import { randomBytes } from 'node:crypto';

/**
 * Endpoint signing secrets in the Standard Webhooks format: `whsec_` + base64 of random bytes.
 * Receivers' libraries strip the prefix and base64-decode the rest to get the HMAC key, so the
 * encoding is standard base64 with padding (not base64url), exactly as they expect.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_BYTES = 32;

// The Standard Webhooks specification recommends keys of 24 to 64 bytes; anything shorter is
// guessable, anything longer came from somewhere else than generateWebhookSecret.
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** A new secret from the CSPRNG: `whsec_` + base64 of 32 random bytes (50 characters). */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(WEBHOOK_SECRET_BYTES).toString('base64');
}

/**
 * True when `candidate` is `whsec_` + canonical base64 of 24 to 64 bytes. Node's base64 decoder
 * skips characters it does not know, so canonical form is checked by re-encoding: a secret that
 * does not round-trip would be decoded differently by a receiver's library.
 */
export function isWellFormedWebhookSecret(candidate: string): boolean {
  if (!SECRET_PATTERN.test(candidate)) return false;
  const encoded = candidate.slice(WEBHOOK_SECRET_PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  return (
    key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES && key.toString('base64') === encoded
  );
}
