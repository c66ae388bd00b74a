import { execFileSync } from 'node:child_process';
import { LookupAddress, LookupOptions } from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { deliverWebhook, pinnedLookup, sendWebhookRequest } from './webhook-delivery';
import { startReceiver, TestReceiver } from '../../test/support/webhook-receivers';
import { HostResolver } from './webhook-url';

const PRODUCTION = { allowPrivate: false, timeoutMs: 300 };
const request = (url: string) => ({
  url,
  headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,c2lnbmF0dXJl' },
  body: '{"type":"quota.threshold"}',
});
const LOOPBACK: LookupAddress[] = [{ address: '127.0.0.1', family: 4 }];

/** Answers from a list of answers, one per call (the last one repeats), counting calls. */
function resolverAnswering(...answers: string[][]): HostResolver & { calls: number } {
  const resolve = async () => {
    const answer = answers[Math.min(resolve.calls++, answers.length - 1)];
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  resolve.calls = 0;
  return resolve;
}

describe('deliverWebhook address policy (allowPrivate: false)', () => {
  let target: TestReceiver;
  beforeEach(async () => {
    target = await startReceiver((_, res) => res.writeHead(200).end());
  });
  afterEach(() => target.close());

  it.each([
    ['http://127.0.0.1:PORT/hook', 'refused: URL must use https'],
    ['https://127.0.0.1:PORT/hook', 'refused: URL host is not a public address'],
    ['https://[::ffff:127.0.0.1]:PORT/hook', 'refused: URL host is not a public address'],
    ['https://2130706433:PORT/hook', 'refused: URL host is not a public address'],
    ['https://localhost:PORT/hook', 'refused: URL host must not be localhost'],
    ['https://hooks.localhost:PORT/hook', 'refused: URL host must not be localhost'],
  ])('refuses %s before any connection', async (url, error) => {
    const resolve = resolverAnswering(['127.0.0.1']);
    const result = await deliverWebhook(request(url.replace('PORT', String(target.port))), {
      ...PRODUCTION,
      resolve,
    });
    expect(result).toEqual({ outcome: 'failed', error });
    expect(resolve.calls).toBe(0);
    expect(target.connections).toBe(0);
  });

  it.each([
    [['127.0.0.1'], 'refused: URL host resolves to a non-public address'],
    [['8.8.8.8', '10.0.0.7'], 'refused: URL host resolves to a non-public address'],
    [['::ffff:127.0.0.1'], 'refused: URL host resolves to a non-public address'],
    [[], 'refused: URL host could not be resolved'],
  ])('refuses a name resolving to %j, before any connection', async (addresses, error) => {
    const url = `https://hooks.example.test:${target.port}/hook`;
    const result = await deliverWebhook(request(url), {
      ...PRODUCTION,
      resolve: resolverAnswering(addresses),
    });
    expect(result).toEqual({ outcome: 'failed', error });
    expect(target.connections).toBe(0);
  });

  it('resolves once and connects only to the checked address (DNS rebinding)', async () => {
    // The first answer passes the check; a second resolution would point at the local receiver.
    const resolve = resolverAnswering(['8.8.8.8'], ['127.0.0.1']);
    const url = `https://rebind.example.test:${target.port}/hook`;
    const result = await deliverWebhook(request(url), { ...PRODUCTION, resolve });
    expect(result.outcome).toBe('failed'); // 8.8.8.8 on that port does not answer (or no network)
    expect(resolve.calls).toBe(1);
    expect(target.connections).toBe(0);
  });

  it('counts DNS in the timeout', async () => {
    const hang: HostResolver = () => new Promise(() => undefined);
    const started = performance.now();
    const result = await deliverWebhook(request('https://slow.example.test/hook'), {
      ...PRODUCTION,
      resolve: hang,
    });
    expect(result).toEqual({ outcome: 'failed', error: 'timed out after 300 ms' });
    expect(performance.now() - started).toBeLessThan(700);
  });
});

describe('deliverWebhook options', () => {
  it.each([0, -1, Number.NaN, Infinity])(
    'rejects timeoutMs %p as a programming error',
    async (ms) => {
      await expect(
        deliverWebhook(request('https://hooks.example.test/'), {
          allowPrivate: false,
          timeoutMs: ms,
        }),
      ).rejects.toThrow(RangeError);
    },
  );
});

describe('pinnedLookup', () => {
  const addresses: LookupAddress[] = [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
  ];
  const ask = (options: LookupOptions) =>
    new Promise<[unknown, unknown, unknown]>((resolve) =>
      pinnedLookup(addresses)('anything.example', options, (err, address, family) =>
        resolve([err, address, family]),
      ),
    );

  it.each([
    [{ all: true }, [null, addresses, undefined]],
    [{ all: true, family: 6 }, [null, [addresses[1]], undefined]],
    [{}, [null, '93.184.215.14', 4]],
    [{ family: 6 }, [null, addresses[1].address, 6]],
    [{ family: 'IPv6' as const }, [null, addresses[1].address, 6]],
  ])('answers %j from the checked addresses, whatever the name', async (options, expected) => {
    expect(await ask(options)).toEqual(expected);
  });

  it('fails with ENOTFOUND when no checked address has the family asked for', async () => {
    const [err] = await new Promise<[NodeJS.ErrnoException | null]>((resolve) =>
      pinnedLookup(LOOPBACK)('x', { family: 6 }, (e) => resolve([e])),
    );
    expect(err?.code).toBe('ENOTFOUND');
  });
});

describe('sendWebhookRequest with a pinned address', () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    // A throw-away self-signed certificate for hooks.example.test, made by the openssl CLI.
    dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-nodes', '-days', '1', '-newkey', 'ec'],
        ...['-pkeyopt', 'ec_paramgen_curve:prime256v1', '-subj', '/CN=hooks.example.test'],
        ...['-addext', 'subjectAltName=DNS:hooks.example.test'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('connects to the pinned address and sends Host for the name (http)', async () => {
    const target = await startReceiver((_, res) => res.writeHead(204).end());
    try {
      const url = new URL(`http://hooks.example.test:${target.port}/hook`);
      const result = await sendWebhookRequest(url, request(url.href), {
        lookup: pinnedLookup(LOOPBACK),
        remainingMs: 2_000,
      });
      expect(result).toEqual({ outcome: 'delivered', statusCode: 204 });
      expect(target.requests[0].headers.host).toBe(`hooks.example.test:${target.port}`);
    } finally {
      await target.close();
    }
  });

  it('keeps SNI and certificate checks on the name while connecting to the pinned address', async () => {
    const target = await startReceiver((_, res) => res.writeHead(200).end(), { key, cert });
    try {
      const send = (host: string, ca?: string) => {
        const url = new URL(`https://${host}:${target.port}/hook`);
        return sendWebhookRequest(url, request(url.href), {
          lookup: pinnedLookup(LOOPBACK),
          remainingMs: 2_000,
          ca,
        });
      };
      expect(await send('hooks.example.test', cert)).toEqual({
        outcome: 'delivered',
        statusCode: 200,
      });
      expect(target.requests[0]).toMatchObject({
        servername: 'hooks.example.test',
        headers: { host: `hooks.example.test:${target.port}` },
      });
      // The certificate is checked against the URL's name, not the address connected to...
      expect(await send('other.example.test', cert)).toEqual({
        outcome: 'failed',
        error: 'TLS handshake failed (ERR_TLS_CERT_ALTNAME_INVALID)',
      });
      // ...and against the system's trust store by default.
      expect(await send('hooks.example.test')).toEqual({
        outcome: 'failed',
        error: 'TLS handshake failed (DEPTH_ZERO_SELF_SIGNED_CERT)',
      });
      expect(target.requests).toHaveLength(1);
    } finally {
      await target.close();
    }
  });
});
