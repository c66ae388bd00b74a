import { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which URLs a webhook may point at (contract §10). Without `allowPrivate` (production, unless
 * WEBHOOK_ALLOW_PRIVATE_URLS=true) only `https` to public unicast addresses: a webhook is a request
 * our servers make on a tenant's behalf, and pointed at 127.0.0.1, 10.x or 169.254.169.254 it
 * would let any org admin probe and call our internal network (SSRF).
 *
 * The same rules run at creation (checkWebhookUrl, for a 400) and at every delivery
 * (webhook-delivery.ts), because DNS answers change after creation.
 */
export interface WebhookUrlPolicy {
  /** Allow `http` and non-public addresses (development, tests, private deployments). */
  allowPrivate: boolean;
}

export type WebhookUrlCheck = { ok: true } | { ok: false; reason: string };

/** Resolves a host name to every address it has, like `dns.lookup(host, { all: true })`. */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

export type ResolvedAddresses =
  { ok: true; addresses: LookupAddress[] } | { ok: false; reason: string };

export const MAX_WEBHOOK_URL_LENGTH = 2048;
const DEFAULT_RESOLVE_TIMEOUT_MS = 5_000;

export const systemResolver: HostResolver = (hostname) => lookup(hostname, { all: true });

// Anything outside 2000::/3 that ipaddr.js does not name (::/96 IPv4-compatible, 4000::/3, ...)
// is unassigned or deprecated, never a legitimate webhook receiver.
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
// The well-known NAT64 prefix: the IPv4 address is the last 32 bits (RFC 6052 §2.2, /96).
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/**
 * True when `ip` is a textual IPv4 or IPv6 address of a public unicast host. Names, odd IPv4
 * spellings ("127.1", "0x7f000001") and anything Node's `net.isIP` refuses answer false.
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.parse(family === 6 ? canonicalIPv6(ip) : ip);
  } catch {
    return false;
  }
  return address.kind() === 'ipv4'
    ? isPublicIPv4(address as ipaddr.IPv4)
    : isPublicIPv6(address as ipaddr.IPv6);
}

/**
 * ipaddr.js reads "::a.b.c.d" (IPv4-compatible, which glibc's inet_ntop prints) as if it were
 * "::ffff:a.b.c.d" (IPv4-mapped), so the bits it judges are not the bits the kernel connects to.
 * The WHATWG URL parser spells every IPv6 address in plain hex; ipaddr.js then sees the real bits.
 * It throws on a zone id ("fe80::1%eth0"), which isPublicAddress turns into "not public": zones
 * only make sense on link-local addresses.
 */
function canonicalIPv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function isPublicIPv4(address: ipaddr.IPv4): boolean {
  // ipaddr.js names every special-purpose block of the IANA registry (private, loopback,
  // link-local, CGNAT, multicast, broadcast, 0/8, 240/4, documentation, benchmarking, 6to4
  // relay, AS112, AMT); only an address in none of them is 'unicast'.
  return address.range() === 'unicast';
}

function isPublicIPv6(address: ipaddr.IPv6): boolean {
  const parts = address.parts;
  switch (address.range()) {
    // Forms that carry an IPv4 address and reach it: judged by that address, so
    // ::ffff:127.0.0.1 is loopback and ::ffff:8.8.8.8 is public.
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d (SIIT)
      return isPublicIPv4(ipv4From(parts[6], parts[7]));
    case 'rfc6052':
      // 64:ff9b::/96 embeds the address at the end; the local-use 64:ff9b:1::/48 (RFC 8215)
      // places it wherever the operator chose and may map private space: refused.
      return address.match(NAT64_WELL_KNOWN) && isPublicIPv4(ipv4From(parts[6], parts[7]));
    case '6to4': // 2002:aabb:ccdd::/48 is tunnelled to aa.bb.cc.dd
      return isPublicIPv4(ipv4From(parts[1], parts[2]));
    case 'teredo':
      // 2001:0:<server v4>:<flags>:<port>:<client v4 with every bit inverted>; packets go
      // through the server to the client, so both must be public.
      return (
        isPublicIPv4(ipv4From(parts[2], parts[3])) &&
        isPublicIPv4(ipv4From(~parts[6] & 0xffff, ~parts[7] & 0xffff))
      );
    case 'unicast':
      return address.match(IPV6_GLOBAL_UNICAST);
    default:
      // loopback, unspecified, link-local, site-local, unique-local, multicast, discard,
      // documentation, benchmarking, ORCHID, AS112, AMT, segment routing, ...
      return false;
  }
}

function ipv4From(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761), whatever DNS says. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The URL's host as a connectable name or address: IPv6 literals lose their brackets. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The checks that need no DNS: syntax, length, scheme, credentials, and a literal or localhost
 * host. Returns the parsed URL so that callers connect to what was checked.
 */
export function parseWebhookUrl(
  raw: string,
  policy: WebhookUrlPolicy,
): { ok: true; url: URL } | { ok: false; reason: string } {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    return refuse(`URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('URL is not a valid absolute URL');
  }
  if (policy.allowPrivate) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return refuse('URL must use https or http');
    }
  } else if (url.protocol !== 'https:') {
    return refuse('URL must use https');
  }
  // Credentials in a URL end up in logs and lists; receivers authenticate us by the signature.
  if (url.username !== '' || url.password !== '') return refuse('URL must not contain credentials');
  if (policy.allowPrivate) return { ok: true, url };

  const host = urlHost(url);
  if (isLocalhostName(host)) return refuse('URL host must not be localhost');
  // The WHATWG parser has already turned "0x7f.1" and "2130706433" into dotted quads here.
  if (isIP(host) !== 0 && !isPublicAddress(host)) {
    return refuse('URL host is not a public address');
  }
  return { ok: true, url };
}

/**
 * Resolves `hostname` and accepts it only when it has at least one address and every address is
 * public: a name with one private address among public ones is refused, as the client could pick
 * either. The reason never names the addresses, so the check is not a probe of internal DNS.
 */
export async function resolvePublicAddresses(
  hostname: string,
  resolve: HostResolver = systemResolver,
): Promise<ResolvedAddresses> {
  if (isIP(hostname) !== 0) {
    return isPublicAddress(hostname)
      ? { ok: true, addresses: [{ address: hostname, family: isIP(hostname) }] }
      : refuse('URL host is not a public address');
  }
  if (isLocalhostName(hostname)) return refuse('URL host must not be localhost');
  let addresses: LookupAddress[];
  try {
    addresses = await resolve(hostname);
  } catch {
    return refuse('URL host could not be resolved');
  }
  if (addresses.length === 0) return refuse('URL host could not be resolved');
  if (!addresses.every((a) => isPublicAddress(a.address))) {
    return refuse('URL host resolves to a non-public address');
  }
  return {
    ok: true,
    addresses: addresses.map((a) => ({ address: a.address, family: isIP(a.address) })),
  };
}

/**
 * The check at webhook creation: `{ ok: false, reason }` becomes 400 `webhook_url_forbidden`.
 * Policy refusals are results, not exceptions. DNS is bounded by `timeoutMs` (5 s) so that a
 * slow resolver cannot hold the API request.
 */
export async function checkWebhookUrl(
  raw: string,
  policy: WebhookUrlPolicy,
  options: { resolve?: HostResolver; timeoutMs?: number } = {},
): Promise<WebhookUrlCheck> {
  const parsed = parseWebhookUrl(raw, policy);
  if (!parsed.ok) return parsed;
  if (policy.allowPrivate) return { ok: true };
  const resolved = await withTimeout(
    resolvePublicAddresses(urlHost(parsed.url), options.resolve),
    options.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS,
    refuse('URL host could not be resolved in time'),
  );
  return resolved.ok ? { ok: true } : resolved;
}

/** `promise`, or `fallback` after `ms`; the timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
