import {
  generateWebhookSecret,
  isWellFormedWebhookSecret,
  WEBHOOK_SECRET_BYTES,
} from './webhook-secret';

describe('webhook secret', () => {
  it('is whsec_ + standard base64 of 32 bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(WEBHOOK_SECRET_BYTES);
    expect(isWellFormedWebhookSecret(secret)).toBe(true);
  });

  it('never repeats in 10,000 draws', () => {
    const secrets = new Set(Array.from({ length: 10_000 }, () => generateWebhookSecret()));
    expect(secrets.size).toBe(10_000);
  });

  it('uses every bit: each of the 256 key bits is set in some draws and clear in others', () => {
    const ones = new Array<number>(WEBHOOK_SECRET_BYTES * 8).fill(0);
    const draws = 2_000;
    for (let i = 0; i < draws; i++) {
      const key = Buffer.from(generateWebhookSecret().slice(6), 'base64');
      key.forEach((byte, b) => {
        for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) ones[b * 8 + bit]++;
      });
    }
    // Each bit is a fair coin: 2,000 flips land within 1,000 ± 200 far beyond any plausible chance.
    for (const n of ones) expect(Math.abs(n - draws / 2)).toBeLessThan(200);
  });

  it.each([
    ['empty', ''],
    ['no prefix', Buffer.alloc(32, 1).toString('base64')],
    ['wrong prefix', 'whsk_' + Buffer.alloc(32, 1).toString('base64')],
    ['too short (16 bytes)', 'whsec_' + Buffer.alloc(16, 1).toString('base64')],
    ['too long (65 bytes)', 'whsec_' + Buffer.alloc(65, 1).toString('base64')],
    ['base64url alphabet', 'whsec_' + Buffer.alloc(32, 0xfb).toString('base64url')],
    ['non-canonical padding', 'whsec_' + Buffer.alloc(32, 1).toString('base64').slice(0, -1)],
    ['embedded whitespace', 'whsec_' + Buffer.alloc(32, 1).toString('base64').replace('A', ' A')],
  ])('refuses a malformed secret: %s', (_, candidate) => {
    expect(isWellFormedWebhookSecret(candidate)).toBe(false);
  });

  it('accepts 24 and 64-byte keys from other Standard Webhooks senders', () => {
    expect(isWellFormedWebhookSecret('whsec_' + Buffer.alloc(24, 7).toString('base64'))).toBe(true);
    expect(isWellFormedWebhookSecret('whsec_' + Buffer.alloc(64, 7).toString('base64'))).toBe(true);
  });
});
