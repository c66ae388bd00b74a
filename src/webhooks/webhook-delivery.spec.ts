import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { deliverWebhook, WebhookDeliveryResult } from './webhook-delivery';
import { generateWebhookSecret } from './webhook-secret';
import { buildWebhookRequest, SignedWebhookRequest } from './webhook-signing';
import {
  closedPort,
  startRawReceiver,
  startReceiver,
  TestReceiver,
} from '../../test/support/webhook-receivers';

const LOCAL = { allowPrivate: true };
const SHORT_TIMEOUT_MS = 300;
const secret = generateWebhookSecret();

function signedRequest(url: string): SignedWebhookRequest {
  return buildWebhookRequest({
    url,
    secret,
    messageId: randomUUID(),
    attemptAt: new Date(),
    event: {
      type: 'invoice.finalized',
      timestamp: new Date(),
      data: {
        orgId: randomUUID(),
        period: '2025-02',
        invoiceId: randomUUID(),
        total: 4200,
        currency: 'EUR',
      },
    },
  });
}

/** Delivers to `path` on the receiver and times it. */
async function deliverTo(
  receiver: TestReceiver,
  path = '/hook',
  timeoutMs = SHORT_TIMEOUT_MS,
): Promise<{ result: WebhookDeliveryResult; elapsedMs: number; request: SignedWebhookRequest }> {
  const request = signedRequest(receiver.origin + path);
  const started = performance.now();
  const result = await deliverWebhook(request, { ...LOCAL, timeoutMs });
  const elapsedMs = performance.now() - started;
  // Whatever happened, no error text may carry the secret or the signature.
  if (result.outcome === 'failed') {
    expect(result.error).not.toContain(secret.slice('whsec_'.length, 20));
    expect(result.error).not.toContain(request.headers['webhook-signature'].slice(3, 20));
  }
  return { result, elapsedMs, request };
}

describe('deliverWebhook over HTTP', () => {
  const receivers: TestReceiver[] = [];
  async function receiver(handler: Parameters<typeof startReceiver>[0]): Promise<TestReceiver> {
    const started = await startReceiver(handler);
    receivers.push(started);
    return started;
  }
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('delivers on 200: one POST with the signed body and the Standard Webhooks headers', async () => {
    const target = await receiver((_, res) => res.writeHead(200).end('ok'));
    const { result, request } = await deliverTo(target, '/hook?tenant=1');
    expect(result).toEqual({ outcome: 'delivered', statusCode: 200 });
    expect(target.requests).toHaveLength(1);
    const [received] = target.requests;
    expect(received.method).toBe('POST');
    expect(received.url).toBe('/hook?tenant=1');
    expect(received.body).toBe(request.body);
    expect(received.headers).toMatchObject({
      ...request.headers,
      host: `127.0.0.1:${target.port}`,
      'content-length': String(Buffer.byteLength(request.body)),
      connection: 'close',
    });
  });

  it.each([201, 202, 204, 299])('delivers on any 2xx: %i', async (status) => {
    const target = await receiver((_, res) => res.writeHead(status).end());
    expect((await deliverTo(target)).result).toEqual({ outcome: 'delivered', statusCode: status });
  });

  it.each([500, 503, 400, 404, 410, 429, 599])(
    'fails on %i, keeping the status code',
    async (status) => {
      const target = await receiver((_, res) => res.writeHead(status).end('nope'));
      expect((await deliverTo(target)).result).toEqual({
        outcome: 'failed',
        statusCode: status,
        error: `receiver answered ${status}`,
      });
    },
  );

  it.each([301, 302, 307, 308])(
    'fails on a %i redirect and never requests its target',
    async (status) => {
      const elsewhere = await receiver((_, res) => res.writeHead(200).end());
      const target = await receiver((_, res) =>
        res.writeHead(status, { location: `${elsewhere.origin}/stolen` }).end(),
      );
      const { result } = await deliverTo(target);
      expect(result).toMatchObject({ outcome: 'failed', statusCode: status });
      expect((result as { error: string }).error).toContain('redirects are not followed');
      expect(elsewhere.connections).toBe(0);
    },
  );

  it('fails within the timeout when the receiver never answers', async () => {
    const target = await receiver(() => undefined);
    const { result, elapsedMs } = await deliverTo(target);
    expect(result).toEqual({ outcome: 'failed', error: `timed out after ${SHORT_TIMEOUT_MS} ms` });
    expect(elapsedMs).toBeGreaterThanOrEqual(SHORT_TIMEOUT_MS - 20);
    expect(elapsedMs).toBeLessThan(SHORT_TIMEOUT_MS + 400);
    await target.allClosed();
  });

  it('fails within the timeout when the status line and headers dribble in', async () => {
    const target = await startRawReceiver((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const drip = setInterval(() => socket.write('x-slow: 1\r\n'), 20);
      socket.on('close', () => clearInterval(drip));
    });
    receivers.push(target);
    const { result, elapsedMs } = await deliverTo(target);
    expect(result).toEqual({ outcome: 'failed', error: `timed out after ${SHORT_TIMEOUT_MS} ms` });
    expect(elapsedMs).toBeLessThan(SHORT_TIMEOUT_MS + 400);
    await target.allClosed();
  });

  it('keeps a 2xx whose body dribbles, and still returns by the deadline and hangs up', async () => {
    const target = await receiver((_, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(drip));
    });
    const { result, elapsedMs } = await deliverTo(target);
    expect(result).toEqual({ outcome: 'delivered', statusCode: 200 });
    expect(elapsedMs).toBeLessThan(SHORT_TIMEOUT_MS + 400);
    await target.allClosed();
  });

  it('reports a 500 whose body dribbles as failed by the deadline', async () => {
    const target = await receiver((_, res) => {
      res.writeHead(500);
      const drip = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(drip));
    });
    const { result, elapsedMs } = await deliverTo(target);
    expect(result).toMatchObject({ outcome: 'failed', statusCode: 500 });
    expect(elapsedMs).toBeLessThan(SHORT_TIMEOUT_MS + 400);
  });

  it('reads only a few KB of an endless response body, then hangs up', async () => {
    let written = 0;
    const target = await receiver((_, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!res.destroyed && written < 1024 ** 3) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const { result, elapsedMs } = await deliverTo(target, '/hook', 5_000);
    expect(result).toEqual({ outcome: 'delivered', statusCode: 200 });
    expect(elapsedMs).toBeLessThan(1_000);
    await target.allClosed();
    expect(written).toBeLessThan(64 * 1024 ** 2);
  });

  it('fails on connection refused, without a status code', async () => {
    const port = await closedPort();
    const started = performance.now();
    const result = await deliverWebhook(signedRequest(`http://127.0.0.1:${port}/hook`), LOCAL);
    expect(result).toEqual({ outcome: 'failed', error: 'connection refused' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('fails when the receiver hangs up without answering', async () => {
    const target = await startRawReceiver((socket) => socket.destroy());
    receivers.push(target);
    expect((await deliverTo(target)).result).toEqual({
      outcome: 'failed',
      error: 'connection reset',
    });
  });

  it('fails on a response that is not HTTP', async () => {
    const target = await startRawReceiver((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
    receivers.push(target);
    expect((await deliverTo(target)).result).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/^invalid HTTP response \(HPE_/),
    });
  });

  it('fails on headers over 16 KB', async () => {
    const target = await receiver((_, res) =>
      res.writeHead(200, { 'x-big': 'a'.repeat(20_000) }).end(),
    );
    expect((await deliverTo(target)).result).toEqual({
      outcome: 'failed',
      error: 'response headers too large',
    });
  });

  it('refuses headers that would split the request, before connecting', async () => {
    const target = await receiver((_, res) => res.writeHead(200).end());
    const request = signedRequest(target.origin + '/hook');
    const result = await deliverWebhook(
      { ...request, headers: { ...request.headers, 'x-extra': 'a\r\nx-injected: 1' } },
      LOCAL,
    );
    expect(result).toEqual({
      outcome: 'failed',
      error: 'request could not be built (ERR_INVALID_CHAR)',
    });
    expect(target.connections).toBe(0);
  });
});
