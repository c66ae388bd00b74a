import { loginFailureKey } from './login-failures';

describe('loginFailureKey', () => {
  it('is a hash of the normalised email, never the email itself', () => {
    const key = loginFailureKey('  Ann.Smith@Example.COM ');
    expect(key).toMatch(/^login-failures:[0-9a-f]{64}$/);
    expect(key).not.toMatch(/ann|example/i);
    expect(loginFailureKey('ann.smith@example.com')).toBe(key);
    expect(loginFailureKey('bob@example.com')).not.toBe(key);
  });
});
