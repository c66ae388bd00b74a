import { normalizeEmail } from './email';

describe('normalizeEmail', () => {
  it.each([
    ['  Ann@Example.COM ', 'ann@example.com'],
    ['bob@x.io', 'bob@x.io'],
    ['\tMIXED@Case.Org\n', 'mixed@case.org'],
  ])('turns %j into %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it('leaves non-strings for the validator to reject', () => {
    expect(normalizeEmail(42)).toBe(42);
    expect(normalizeEmail(undefined)).toBeUndefined();
  });
});
