import { Webhook } from 'standardwebhooks';
import { isWellFormedWebhookSecret } from './webhook-secret';

/**
 * Standard Webhooks messages (contract §10): the body is `{ type, timestamp, data }` and three
 * headers let any Standard Webhooks library verify it. Signing is done by the reference library
 * (`standardwebhooks`) rather than by hand, so sender and receivers cannot drift apart.
 *
 * Two timestamps, on purpose: `timestamp` in the body is when the event happened and never changes;
 * `webhook-timestamp` is when this attempt is sent, so every retry is signed afresh. Receivers
 * reject messages whose header timestamp is more than 5 minutes off (replay protection), so a
 * retry hours later must not reuse the first attempt's headers.
 */
export const WEBHOOK_EVENT_TYPES = ['quota.threshold', 'invoice.finalized'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface QuotaThresholdData {
  orgId: string;
  meter: string;
  /** Billing period, `YYYY-MM`. */
  period: string;
  threshold: 80 | 100;
  value: number;
  included: number;
}

export interface InvoiceFinalizedData {
  orgId: string;
  period: string;
  invoiceId: string;
  /** Minor units (cents). */
  total: number;
  currency: string;
}

export interface WebhookEventData {
  'quota.threshold': QuotaThresholdData;
  'invoice.finalized': InvoiceFinalizedData;
}

/** An event to send, as the outbox holds it; `timestamp` is when it happened. */
export type WebhookEvent = {
  [T in WebhookEventType]: { type: T; timestamp: Date; data: WebhookEventData[T] };
}[WebhookEventType];

// A type alias, not an interface: it must be assignable to deliverWebhook's
// Record<string, string> headers, and only aliases get an implicit index signature.
export type WebhookHeaders = {
  'content-type': 'application/json';
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface SignWebhookInput {
  /** The endpoint's `whsec_…` secret. */
  secret: string;
  /** The message id: the same on every attempt, so receivers can deduplicate. */
  messageId: string;
  /** The exact bytes that will be sent (see serializeWebhookPayload). */
  body: string;
  /** When this attempt is made. */
  attemptAt: Date;
}

// UUIDs and the `msg_…` ids other senders use fit; anything else is a caller bug, and a header
// value with spaces, dots or control characters would be refused by http or confuse receivers.
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** The body to send, `{ type, timestamp, data }` with the timestamp as ISO-8601 UTC. */
export function serializeWebhookPayload(event: WebhookEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.timestamp.toISOString(),
    data: event.data,
  });
}

/**
 * The Standard Webhooks headers for one attempt. Throws on a malformed secret or message id (a
 * programming or data error); the error never contains the secret.
 */
export function signWebhookMessage(input: SignWebhookInput): WebhookHeaders {
  if (!isWellFormedWebhookSecret(input.secret)) throw new Error('Webhook secret is malformed');
  if (!MESSAGE_ID_PATTERN.test(input.messageId)) throw new Error('Webhook message id is malformed');
  const seconds = Math.floor(input.attemptAt.getTime() / 1000);
  if (!Number.isFinite(seconds)) throw new RangeError('Webhook attempt time is not a valid date');
  // Sign the whole second that goes into the header, so header and signature always agree.
  const signature = new Webhook(input.secret).sign(
    input.messageId,
    new Date(seconds * 1000),
    input.body,
  );
  return {
    'content-type': 'application/json',
    'webhook-id': input.messageId,
    'webhook-timestamp': String(seconds),
    'webhook-signature': signature,
  };
}

/** A request ready for deliverWebhook. */
export interface SignedWebhookRequest {
  url: string;
  headers: WebhookHeaders;
  body: string;
}

/** Serializes `event`, signs it for this attempt, and pairs it with the endpoint URL. */
export function buildWebhookRequest(input: {
  url: string;
  secret: string;
  messageId: string;
  event: WebhookEvent;
  attemptAt: Date;
}): SignedWebhookRequest {
  const body = serializeWebhookPayload(input.event);
  const headers = signWebhookMessage({
    secret: input.secret,
    messageId: input.messageId,
    body,
    attemptAt: input.attemptAt,
  });
  return { url: input.url, headers, body };
}
