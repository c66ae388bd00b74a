import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API key format: `mk_live_` + 32 random base62 characters + a 6-character base62 CRC32 of
 * everything before it. The checksum lets the platform (and secret scanners) refuse a mistyped or
 * made-up key without any look-up.
 */
export const API_KEY_PREFIX = 'mk_live_';
export const API_KEY_RANDOM_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
export const API_KEY_LENGTH =
  API_KEY_PREFIX.length + API_KEY_RANDOM_LENGTH + API_KEY_CHECKSUM_LENGTH;
/** How much of a key is kept in clear, to tell keys apart in lists. */
export const DISPLAY_PREFIX_LENGTH = 12;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(
  `^${API_KEY_PREFIX}[0-9A-Za-z]{${API_KEY_RANDOM_LENGTH + API_KEY_CHECKSUM_LENGTH}}$`,
);

export function toBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  if (rest !== 0) throw new RangeError(`${value} does not fit in ${width} base62 digits`);
  return out;
}

export function checksum(body: string): string {
  return toBase62(crc32(body) >>> 0, API_KEY_CHECKSUM_LENGTH);
}

/** Uniform base62 characters from the CSPRNG (rejection sampling: no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** True when `candidate` has the shape of a key and its checksum holds. */
export function isWellFormedApiKey(candidate: string): boolean {
  if (candidate.length !== API_KEY_LENGTH || !KEY_PATTERN.test(candidate)) return false;
  const body = candidate.slice(0, -API_KEY_CHECKSUM_LENGTH);
  return checksum(body) === candidate.slice(-API_KEY_CHECKSUM_LENGTH);
}

/**
 * SHA-256 of the whole key, hex: what is stored and looked up. Every /v1 request hashes its key:
 * the one-shot `hash` takes a third of the time of a `createHash` object.
 */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

export interface GeneratedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(): GeneratedApiKey {
  const body = API_KEY_PREFIX + randomBase62(API_KEY_RANDOM_LENGTH);
  const key = body + checksum(body);
  return { key, prefix: key.slice(0, DISPLAY_PREFIX_LENGTH), hash: hashApiKey(key) };
}

/**
 * The key a request presents: `X-API-Key: <key>`, or `Authorization: Bearer <key>` when the bearer
 * token has the key prefix (a user JWT is not a key).
 */
export function extractApiKey(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const authorization = headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return undefined;
}
