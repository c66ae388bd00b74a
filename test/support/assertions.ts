import { Response } from 'supertest';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The answer has `status` and an error body of exactly the contract's shape:
 * `{statusCode, error, message, code}`, the message a string or a list of strings.
 */
export function expectError(res: Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({
    statusCode: status,
    error: expect.any(String),
    message: expect.anything(),
    code,
  });
  const message: unknown = res.body.message;
  expect(
    typeof message === 'string' ||
      (Array.isArray(message) && message.every((m) => typeof m === 'string')),
  ).toBe(true);
}
