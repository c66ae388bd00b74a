import { LookupAddress } from 'node:dns';
import { ADDRESS_CASES } from './webhook-url.cases';
import {
  checkWebhookUrl,
  HostResolver,
  isPublicAddress,
  parseWebhookUrl,
  resolvePublicAddresses,
} from './webhook-url';

const PRODUCTION = { allowPrivate: false };
const DEVELOPMENT = { allowPrivate: true };

/** A resolver that answers from a table and records what it was asked. */
function fakeResolver(table: Record<string, string[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    asked.push(hostname);
    // Resolvers treat "name." and "name" alike.
    const addresses = table[hostname.replace(/\.$/, '')];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

const dns = fakeResolver({
  'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'internal.example.com': ['10.1.2.3'],
  'mixed.example.com': ['93.184.215.14', '127.0.0.1'],
  'metadata.example.com': ['::ffff:169.254.169.254'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'empty.example.com': [],
});

describe('isPublicAddress', () => {
  it('has a table of at least 40 cases with both answers for IPv4 and IPv6', () => {
    const count = (v6: boolean, answer: boolean) =>
      ADDRESS_CASES.filter(([ip, pub]) => ip.includes(':') === v6 && pub === answer).length;
    expect(ADDRESS_CASES.length).toBeGreaterThanOrEqual(40);
    for (const v6 of [false, true])
      for (const answer of [false, true]) expect(count(v6, answer)).toBeGreaterThanOrEqual(5);
  });

  it.each(ADDRESS_CASES)('%s → %s (%s)', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe('checkWebhookUrl', () => {
  it.each([
    ['https://hooks.example.com/webhooks', 'a public name'],
    ['https://hooks.example.com:8443/a?b=c#d', 'a port, query and fragment'],
    ['https://8.8.8.8/hook', 'a public IPv4 literal'],
    ['https://[2606:4700:4700::1111]/hook', 'a public IPv6 literal'],
    ['HTTPS://HOOKS.EXAMPLE.COM/x', 'upper case scheme and host'],
    ['https://hooks.example.com./x', 'a fully qualified name with the trailing dot'],
  ])('accepts %s (%s) in production', async (url) => {
    await expect(checkWebhookUrl(url, PRODUCTION, { resolve: dns })).resolves.toEqual({ ok: true });
  });

  it.each([
    ['not a url', 'URL is not a valid absolute URL'],
    ['/relative/path', 'URL is not a valid absolute URL'],
    ['https://', 'URL is not a valid absolute URL'],
    ['https://hooks.example.com/' + 'a'.repeat(2048), 'URL is longer than 2048 characters'],
    ['http://hooks.example.com/hook', 'URL must use https'],
    ['ftp://hooks.example.com/hook', 'URL must use https'],
    ['javascript:alert(1)', 'URL must use https'],
    ['https://user:pass@hooks.example.com/', 'URL must not contain credentials'],
    ['https://token@hooks.example.com/', 'URL must not contain credentials'],
    ['https://localhost/hook', 'URL host must not be localhost'],
    ['https://LOCALHOST./hook', 'URL host must not be localhost'],
    ['https://api.localhost/hook', 'URL host must not be localhost'],
    ['https://ⓛocalhost/hook', 'URL host must not be localhost'],
    ['https://127.0.0.1/hook', 'URL host is not a public address'],
    ['https://2130706433/hook', 'URL host is not a public address'],
    ['https://0x7f.1/hook', 'URL host is not a public address'],
    ['https://0/hook', 'URL host is not a public address'],
    ['https://[::1]/hook', 'URL host is not a public address'],
    ['https://[::ffff:127.0.0.1]/hook', 'URL host is not a public address'],
    ['https://[fe80::1]/hook', 'URL host is not a public address'],
    ['https://169.254.169.254/latest/meta-data', 'URL host is not a public address'],
    ['https://internal.example.com/hook', 'URL host resolves to a non-public address'],
    ['https://mixed.example.com/hook', 'URL host resolves to a non-public address'],
    ['https://metadata.example.com/hook', 'URL host resolves to a non-public address'],
    ['https://127.0.0.1.nip.io/hook', 'URL host resolves to a non-public address'],
    ['https://nowhere.example.com/hook', 'URL host could not be resolved'],
    ['https://empty.example.com/hook', 'URL host could not be resolved'],
  ])('refuses %s in production: %s', async (url, reason) => {
    await expect(checkWebhookUrl(url, PRODUCTION, { resolve: dns })).resolves.toEqual({
      ok: false,
      reason,
    });
  });

  it('never names the resolved address in the reason (no probing of internal DNS)', async () => {
    const result = await checkWebhookUrl('https://internal.example.com/', PRODUCTION, {
      resolve: dns,
    });
    expect(JSON.stringify(result)).not.toContain('10.1.2.3');
  });

  it('accepts exactly 2048 characters', async () => {
    const base = 'https://hooks.example.com/';
    const url = base + 'a'.repeat(2048 - base.length);
    await expect(checkWebhookUrl(url, PRODUCTION, { resolve: dns })).resolves.toEqual({ ok: true });
  });

  it.each([
    'http://localhost:3000/hook',
    'http://127.0.0.1:8080/hook',
    'https://internal.example.com/hook',
    'http://[::1]/hook',
    'http://10.0.0.1/hook',
  ])('allows %s with allowPrivate, without resolving it', async (url) => {
    const resolve = fakeResolver({});
    await expect(checkWebhookUrl(url, DEVELOPMENT, { resolve })).resolves.toEqual({ ok: true });
    expect(resolve.asked).toEqual([]);
  });

  it.each([
    ['ftp://example.com/', 'URL must use https or http'],
    ['http://u:p@localhost/', 'URL must not contain credentials'],
    ['nope', 'URL is not a valid absolute URL'],
  ])('still refuses %s with allowPrivate', async (url, reason) => {
    await expect(checkWebhookUrl(url, DEVELOPMENT)).resolves.toEqual({ ok: false, reason });
  });

  it('refuses a name whose resolution does not answer in time', async () => {
    const hang: HostResolver = () => new Promise(() => undefined);
    const started = Date.now();
    await expect(
      checkWebhookUrl('https://slow.example.com/', PRODUCTION, { resolve: hang, timeoutMs: 50 }),
    ).resolves.toEqual({ ok: false, reason: 'URL host could not be resolved in time' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses real system resolution of localhost names without asking DNS', async () => {
    await expect(checkWebhookUrl('https://localhost/', PRODUCTION)).resolves.toMatchObject({
      ok: false,
    });
  });
});

describe('resolvePublicAddresses', () => {
  it('returns every checked address with its family', async () => {
    await expect(resolvePublicAddresses('hooks.example.com', dns)).resolves.toEqual({
      ok: true,
      addresses: [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
    });
  });

  it('checks a literal without resolving it', async () => {
    const resolve = fakeResolver({});
    await expect(resolvePublicAddresses('8.8.8.8', resolve)).resolves.toEqual({
      ok: true,
      addresses: [{ address: '8.8.8.8', family: 4 }],
    });
    expect(resolve.asked).toEqual([]);
  });
});

describe('parseWebhookUrl', () => {
  it('returns the parsed URL, with hostnames normalised by the WHATWG parser', () => {
    const parsed = parseWebhookUrl('https://0x08.8.8.8:443/x', PRODUCTION);
    expect(parsed.ok && parsed.url.hostname).toBe('8.8.8.8');
  });
});
