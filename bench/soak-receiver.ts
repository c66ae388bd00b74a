/**
 * The soak's webhook endpoint: a local HTTP server the instances deliver `quota.threshold`
 * messages to, one path per org (`/hooks/<orgId>`). Each message is verified with the
 * standardwebhooks library, as a customer's receiver would, and counted once by its
 * `webhook-id` (delivery is at least once: a repeat is counted apart, and is no error).
 */
import { once } from 'node:events';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

interface Expected {
  /** When the usage that crosses the threshold was acknowledged (202). */
  at?: number;
}

export interface DeliveryStats {
  expected: number;
  received: number;
  repeats: number;
  /** Signature, unknown org, unexpected message: each is an error. */
  rejected: string[];
  /** Seconds from the crossing's 202 to the delivery, per message. */
  lagSeconds: number[];
}

export class WebhookReceiver {
  private readonly secrets = new Map<string, Webhook>();
  private readonly expected = new Map<string, Expected>();
  private readonly seen = new Set<string>();
  readonly stats: DeliveryStats = {
    expected: 0,
    received: 0,
    repeats: 0,
    rejected: [],
    lagSeconds: [],
  };
  private readonly server = createServer((req, res) => this.onRequest(req, res));
  url = '';

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Closes the server and the instances' keep-alive connections to it. */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Registers an org's endpoint secret (shown once, at creation). */
  endpoint(orgId: string, secret: string): string {
    this.secrets.set(orgId, new Webhook(secret));
    return `${this.url}/hooks/${orgId}`;
  }

  /**
   * The org's usage is about to cross `threshold` %: its message must arrive. Registered before
   * the usage is sent (a delivery may beat the 202 back); call the result when the 202 arrives.
   */
  expect(orgId: string, threshold: number): () => void {
    const entry: Expected = {};
    this.expected.set(`${orgId}:${threshold}`, entry);
    this.stats.expected++;
    return () => (entry.at = performance.now());
  }

  missing(): number {
    return this.stats.expected - this.stats.received;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const problem = this.accept(req, Buffer.concat(chunks).toString('utf8'));
      if (problem) this.stats.rejected.push(problem);
      // A rejected message is answered 400 so that the instance retries and the report shows it.
      res.writeHead(problem ? 400 : 204).end();
    });
  }

  /** Records one delivery; the problem with it, if any. */
  private accept(req: IncomingMessage, body: string): string | undefined {
    const orgId = /^\/hooks\/([0-9a-f-]{36})$/.exec(req.url ?? '')?.[1];
    const hook = orgId && this.secrets.get(orgId);
    if (!hook) return `delivery to an unknown endpoint ${req.url}`;
    let message: { type?: string; data?: { orgId?: string; threshold?: number } };
    try {
      message = hook.verify(body, req.headers as Record<string, string>) as typeof message;
    } catch (error) {
      return `${req.url}: signature refused: ${(error as Error).message}`;
    }
    const id = String(req.headers['webhook-id']);
    if (this.seen.has(id)) {
      this.stats.repeats++;
      return undefined;
    }
    this.seen.add(id);
    const key = `${message.data?.orgId}:${message.data?.threshold}`;
    const expected = this.expected.get(key);
    if (message.type !== 'quota.threshold' || message.data?.orgId !== orgId || !expected)
      return `unexpected message ${body.slice(0, 200)}`;
    this.stats.received++;
    this.stats.lagSeconds.push(
      expected.at === undefined ? 0 : (performance.now() - expected.at) / 1000,
    );
    return undefined;
  }
}
