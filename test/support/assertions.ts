import { Response } from 'supertest';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The answer has `status` and an error body of exactly the contract's shape:
 * `{statusCode, error, message, code, requestId}`, the message a string or a list of strings,
 * the request id the one of the `X-Request-Id` header, and on a 400 that lists problems, `errors`
 * naming each with its field.
 */
export function expectError(res: Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({
    statusCode: status,
    error: expect.any(String),
    message: expect.anything(),
    code,
    requestId: res.headers['x-request-id'],
    ...(res.body.errors !== undefined ? { errors: expect.any(Array) } : {}),
  });
  const message: unknown = res.body.message;
  expect(
    typeof message === 'string' ||
      (Array.isArray(message) && message.every((m) => typeof m === 'string')),
  ).toBe(true);
  if (res.body.errors !== undefined) {
    expect(res.body.errors).toEqual(
      (message as string[]).map(() => ({ field: expect.any(String), message: expect.any(String) })),
    );
  }
}

/**
 * An error body without its `requestId`, which names each request: for comparing the answers of
 * two requests that must be indistinguishable (an outsider and a missing org, a wrong password
 * and an unknown email).
 */
export function withoutRequestId(res: Response): Record<string, unknown> {
  const { requestId: _requestId, ...rest } = res.body as Record<string, unknown>;
  return rest;
}
