import {
  API_KEY_LENGTH,
  checksum,
  extractApiKey,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  randomBase62,
  toBase62,
} from './api-key-format';

describe('api key format', () => {
  it('generates mk_live_ + 32 base62 + a 6-character checksum, with a 12-character prefix and a sha256 hash', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^mk_live_[0-9A-Za-z]{38}$/);
    expect(key).toHaveLength(API_KEY_LENGTH);
    expect(prefix).toBe(key.slice(0, 12));
    expect(hash).toBe(hashApiKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.slice(-6)).toBe(checksum(key.slice(0, -6)));
  });

  it('never generates the same key twice in 10,000 draws', () => {
    const keys = new Set(Array.from({ length: 10_000 }, () => generateApiKey().key));
    expect(keys.size).toBe(10_000);
  });

  it('draws base62 characters roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(700);
  });

  it('accepts a generated key and refuses every single-character typo', () => {
    const { key } = generateApiKey();
    expect(isWellFormedApiKey(key)).toBe(true);
    for (let i = 8; i < key.length; i++) {
      const typo = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
      expect(isWellFormedApiKey(typo)).toBe(false);
    }
  });

  it.each([
    ['empty', ''],
    ['wrong prefix', 'mk_test_' + 'a'.repeat(38)],
    ['too short', 'mk_live_abc'],
    ['non-base62', 'mk_live_' + '-'.repeat(38)],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'],
  ])('refuses %s', (_, candidate) => {
    expect(isWellFormedApiKey(candidate)).toBe(false);
  });

  it('writes numbers in fixed-width base62', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(61, 2)).toBe('0z');
    expect(toBase62(0xffffffff, 6)).toBe('4gfFC3');
    expect(() => toBase62(62, 1)).toThrow(RangeError);
  });
});

describe('extractApiKey', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['X-API-Key', { 'x-api-key': 'mk_live_x' }, 'mk_live_x'],
    ['Authorization: Bearer', { authorization: 'Bearer mk_live_y' }, 'mk_live_y'],
    ['lower-case bearer', { authorization: 'bearer mk_live_y' }, 'mk_live_y'],
    [
      'X-API-Key before Authorization',
      { 'x-api-key': 'mk_live_x', authorization: 'Bearer mk_live_y' },
      'mk_live_x',
    ],
    ['Basic auth', { authorization: 'Basic abc' }, undefined],
    ['nothing', {}, undefined],
  ])('reads %s', (_, headers, expected) => {
    expect(extractApiKey(headers)).toBe(expected);
  });
});
