import { createHmac, randomUUID } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateWebhookSecret } from './webhook-secret';
import {
  buildWebhookRequest,
  serializeWebhookPayload,
  signWebhookMessage,
  WebhookEvent,
  WebhookHeaders,
} from './webhook-signing';

const event: WebhookEvent = {
  type: 'quota.threshold',
  timestamp: new Date('2025-03-14T09:26:53.589Z'),
  data: {
    orgId: '0b6f1c3e-8a51-4d2c-9b7e-2f1a4c5d6e7f',
    meter: 'api_calls',
    period: '2025-03',
    threshold: 80,
    value: 8000,
    included: 10000,
  },
};

/** What a receiver does: the reference library, with its own 5-minute timestamp tolerance. */
function receiverVerifies(secret: string, body: string, headers: WebhookHeaders): unknown {
  return new Webhook(secret).verify(body, { ...headers });
}

/** The signature recomputed from the specification, without the library. */
function handSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

describe('webhook signing', () => {
  const secret = generateWebhookSecret();
  const messageId = randomUUID();

  it('serializes the body as { type, timestamp (ISO-8601 UTC), data }, in that order', () => {
    expect(serializeWebhookPayload(event)).toBe(
      '{"type":"quota.threshold","timestamp":"2025-03-14T09:26:53.589Z","data":' +
        JSON.stringify(event.data) +
        '}',
    );
  });

  it('produces headers a Standard Webhooks receiver accepts, returning the payload', () => {
    const { body, headers } = buildWebhookRequest({
      url: 'https://example.com/hook',
      secret,
      messageId,
      event,
      attemptAt: new Date(),
    });
    expect(receiverVerifies(secret, body, headers)).toEqual({
      type: 'quota.threshold',
      timestamp: '2025-03-14T09:26:53.589Z',
      data: event.data,
    });
  });

  it('matches the HMAC-SHA256 over "id.timestamp.body" keyed by the decoded secret', () => {
    const body = serializeWebhookPayload(event);
    const attemptAt = new Date('2025-03-14T09:30:00.750Z');
    const headers = signWebhookMessage({ secret, messageId, body, attemptAt });
    expect(headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': messageId,
      'webhook-timestamp': '1741944600',
      'webhook-signature': handSignature(secret, messageId, '1741944600', body),
    });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('signs non-ASCII bodies over their UTF-8 bytes, as receivers do', () => {
    const body = serializeWebhookPayload({
      ...event,
      data: { ...event.data, meter: 'tökens — 東京 🚀' },
    });
    const headers = signWebhookMessage({ secret, messageId, body, attemptAt: new Date() });
    expect(headers['webhook-signature']).toBe(
      handSignature(secret, messageId, headers['webhook-timestamp'], body),
    );
    expect(() => receiverVerifies(secret, body, headers)).not.toThrow();
  });

  describe('a receiver refuses', () => {
    const body = serializeWebhookPayload(event);
    const headers = signWebhookMessage({ secret, messageId, body, attemptAt: new Date() });

    it.each([
      ['a tampered body', body.replace('8000', '9000'), headers],
      ['a tampered timestamp', body, bump(headers, 'webhook-timestamp')],
      ['another message id', body, { ...headers, 'webhook-id': randomUUID() }],
    ])('%s', (_, tamperedBody, tamperedHeaders) => {
      expect(() => receiverVerifies(secret, tamperedBody, tamperedHeaders)).toThrow(
        'No matching signature found',
      );
    });

    it('the right message under another secret', () => {
      expect(() => receiverVerifies(generateWebhookSecret(), body, headers)).toThrow(
        WebhookVerificationError,
      );
    });

    it('a replay of an old attempt, which is why each retry is signed afresh', () => {
      const old = signWebhookMessage({
        secret,
        messageId,
        body,
        attemptAt: new Date(Date.now() - 10 * 60_000),
      });
      expect(() => receiverVerifies(secret, body, old)).toThrow('Message timestamp too old');
      const retry = signWebhookMessage({ secret, messageId, body, attemptAt: new Date() });
      expect(retry['webhook-id']).toBe(old['webhook-id']);
      expect(() => receiverVerifies(secret, body, retry)).not.toThrow();
    });
  });

  it.each([
    ['a malformed secret', { secret: 'whsec_short' }, 'Webhook secret is malformed'],
    ['a secret without prefix', { secret: secret.slice(6) }, 'Webhook secret is malformed'],
    ['an empty message id', { messageId: '' }, 'Webhook message id is malformed'],
    ['a message id with a newline', { messageId: 'a\r\nx: y' }, 'Webhook message id is malformed'],
    ['an invalid date', { attemptAt: new Date('nope') }, 'not a valid date'],
  ])('throws on %s, without echoing the secret', (_, override, message) => {
    const call = () =>
      signWebhookMessage({ secret, messageId, body: '{}', attemptAt: new Date(), ...override });
    expect(call).toThrow(message);
    try {
      call();
    } catch (error) {
      expect(String(error)).not.toContain(secret.slice(6));
      expect(String(error)).not.toContain(secret.slice(6, 20));
    }
  });
});

function bump(headers: WebhookHeaders, name: 'webhook-timestamp'): WebhookHeaders {
  return { ...headers, [name]: String(Number(headers[name]) + 1) };
}
