/** Emails are compared and stored trimmed and lower-cased, so `Ann@X.io ` and `ann@x.io` are one user. */
export function normalizeEmail(value: unknown): unknown {
  return typeof value === 'string' ? value.trim().toLowerCase() : value;
}
