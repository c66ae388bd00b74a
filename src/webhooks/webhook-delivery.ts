import { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  HostResolver,
  parseWebhookUrl,
  ResolvedAddresses,
  resolvePublicAddresses,
  urlHost,
  withTimeout,
} from './webhook-url';

/**
 * One delivery attempt of one webhook message (contract §10): POST the signed body, success is
 * any 2xx. Everything an untrusted receiver controls is bounded: the time (DNS, connect, TLS,
 * headers and body under one deadline), the response (a few KB read, then dropped), redirects
 * (never followed: a 3xx is a failure) and the address (checked after DNS, then pinned).
 */
export interface WebhookDeliveryRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: string;
}

export interface WebhookDeliveryOptions {
  /** The whole attempt, DNS to the end of the response; 10 s by default. */
  timeoutMs?: number;
  /** Allow `http` and non-public addresses (WEBHOOK_ALLOW_PRIVATE_URLS, or outside production). */
  allowPrivate: boolean;
  /** How host names are resolved when the address is checked; `dns.lookup` by default. */
  resolve?: HostResolver;
}

export type WebhookDeliveryResult =
  | { outcome: 'delivered'; statusCode: number }
  | { outcome: 'failed'; statusCode?: number; error: string };

export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
/** Response bytes read before the connection is dropped; the body is never used. */
export const MAX_RESPONSE_BYTES = 4 * 1024;
const USER_AGENT = 'metering-platform-webhooks/1';

/**
 * Delivers one attempt. Rejects only on an invalid `timeoutMs` (a programming error); every
 * problem with the URL, the network or the receiver is a `failed` outcome whose `error` is built
 * from fixed words and Node error codes only, so neither the secret nor the signature (nor the
 * URL's query string, nor a resolved address) can end up in it.
 *
 * Unless `allowPrivate`, the host is resolved here, every address is checked with
 * isPublicAddress, and the connection is made to those addresses only (a pinned `lookup`): a
 * name that answered a public address to the check cannot answer 127.0.0.1 to the connection
 * (DNS rebinding). TLS still verifies the certificate for the URL's host name, and `Host` is the
 * URL's host.
 */
export async function deliverWebhook(
  request: WebhookDeliveryRequest,
  options: WebhookDeliveryOptions,
): Promise<WebhookDeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const started = performance.now();
  const parsed = parseWebhookUrl(request.url, { allowPrivate: options.allowPrivate });
  if (!parsed.ok) return failed(`refused: ${parsed.reason}`);

  let lookup: LookupFunction | undefined;
  if (!options.allowPrivate) {
    // dns.lookup cannot be cancelled; past the deadline its answer is simply ignored.
    const resolved = await withTimeout<ResolvedAddresses | null>(
      resolvePublicAddresses(urlHost(parsed.url), options.resolve),
      timeoutMs,
      null,
    );
    if (resolved === null) return failed(timedOut(timeoutMs));
    if (!resolved.ok) return failed(`refused: ${resolved.reason}`);
    lookup = pinnedLookup(resolved.addresses);
  }

  const remainingMs = timeoutMs - (performance.now() - started);
  if (remainingMs <= 0) return failed(timedOut(timeoutMs));
  return sendWebhookRequest(parsed.url, request, { lookup, remainingMs, timeoutMs });
}

/**
 * A `lookup` for http.request that answers only from addresses checked beforehand, whatever name
 * it is asked about. Node asks with `{ all: true }` when it races IPv4 and IPv6 (autoSelectFamily,
 * on by default since Node 20) and for one address otherwise; both are served.
 */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const usable = family ? addresses.filter((a) => a.family === family) : [...addresses];
    // dns.lookup always answers asynchronously; net relies on that ordering.
    process.nextTick(() => {
      if (usable.length === 0) {
        const error: NodeJS.ErrnoException = new Error('no checked address of that family');
        error.code = 'ENOTFOUND';
        callback(error, '', 0);
      } else if (options.all) {
        callback(null, usable);
      } else {
        callback(null, usable[0].address, usable[0].family);
      }
    });
  };
}

/**
 * The HTTP exchange itself, for a URL already checked. Exported for tests that pin a name to a
 * local server; the worker calls deliverWebhook.
 */
export function sendWebhookRequest(
  url: URL,
  request: WebhookDeliveryRequest,
  options: {
    lookup?: LookupFunction;
    remainingMs: number;
    /** The budget named in a timeout error. */
    timeoutMs?: number;
    /** Extra trust anchors for https (tests; private deployments with their own CA). */
    ca?: string | Buffer;
  },
): Promise<WebhookDeliveryResult> {
  return new Promise((resolve) => {
    let req: http.ClientRequest | undefined;
    // Once the status line is in, that is the answer; the body is only drained (bounded) so the
    // receiver sees a clean close, and a receiver that dribbles it does not turn a 2xx into a
    // retry, which would deliver the message twice.
    let answer: WebhookDeliveryResult | undefined;
    let settled = false;
    const finish = (result: WebhookDeliveryResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish(answer ?? failed(timedOut(options.timeoutMs ?? options.remainingMs))),
      Math.max(0, options.remainingMs),
    );

    const requestOptions: https.RequestOptions = {
      method: 'POST',
      protocol: url.protocol,
      hostname: urlHost(url),
      port: url.port || undefined,
      path: url.pathname + url.search,
      headers: {
        'user-agent': USER_AGENT,
        ...request.headers,
        'content-length': Buffer.byteLength(request.body),
      },
      // A fresh connection per attempt: no pooled socket to an address checked for another
      // message, nothing left open after the attempt, and no proxy from the environment (Node
      // 24's NODE_USE_ENV_PROXY applies to the global agent): a proxy would resolve the name
      // itself and undo the address check.
      agent: false,
      lookup: options.lookup,
      ca: options.ca,
      maxHeaderSize: 16 * 1024,
    };
    try {
      const transport = url.protocol === 'https:' ? https : http;
      req = transport.request(requestOptions);
    } catch (error) {
      // Invalid header characters and the like: a bug on our side, reported by code only.
      finish(failed(`request could not be built (${errorCode(error)})`));
      return;
    }

    req.on('error', (error) => finish(answer ?? failed(describeError(error))));
    req.on('response', (res) => {
      const statusCode = res.statusCode ?? 0;
      answer =
        statusCode >= 200 && statusCode < 300
          ? { outcome: 'delivered', statusCode }
          : { outcome: 'failed', statusCode, error: describeStatus(statusCode) };
      const settledAnswer = answer;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= MAX_RESPONSE_BYTES) finish(settledAnswer);
      });
      res.on('end', () => finish(settledAnswer));
      res.on('error', () => finish(settledAnswer));
      res.on('close', () => finish(settledAnswer));
    });
    req.end(request.body);
  });
}

function describeStatus(statusCode: number): string {
  if (statusCode >= 300 && statusCode < 400) {
    return `receiver answered ${statusCode}, a redirect (redirects are not followed)`;
  }
  return `receiver answered ${statusCode}`;
}

const ERROR_WORDS = new Map<string, string>([
  ['ECONNREFUSED', 'connection refused'],
  ['ECONNRESET', 'connection reset'],
  ['EPIPE', 'connection reset'],
  ['ETIMEDOUT', 'connection timed out'],
  ['ENOTFOUND', 'host could not be resolved'],
  ['EAI_AGAIN', 'host could not be resolved'],
  ['ENETUNREACH', 'network unreachable'],
  ['EHOSTUNREACH', 'host unreachable'],
  ['HPE_HEADER_OVERFLOW', 'response headers too large'],
]);

/** Fixed words for a Node error: messages can carry addresses and are not ours to publish. */
function describeError(error: unknown): string {
  const code = errorCode(error);
  const words = ERROR_WORDS.get(code);
  if (words) return words;
  if (/CERT|TLS|SSL|SIGNATURE/.test(code)) return `TLS handshake failed (${code})`;
  if (code.startsWith('HPE_')) return `invalid HTTP response (${code})`;
  return `request failed (${code})`;
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // Codes are upper-case words; anything else is not echoed.
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'unknown';
}

function timedOut(timeoutMs: number): string {
  return `timed out after ${Math.round(timeoutMs)} ms`;
}

function failed(error: string, statusCode?: number): WebhookDeliveryResult {
  return statusCode === undefined
    ? { outcome: 'failed', error }
    : { outcome: 'failed', statusCode, error };
}
