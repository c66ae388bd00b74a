import { INestApplication } from '@nestjs/common';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request, { Test } from 'supertest';
import { conformsToOpenApi } from './openapi-validator';

type Verb = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Requests to one app instance, each a supertest `Test` (`.send()`, `.expect()`, ...). */
export type Api = Record<Verb, (url: string) => Test>;

/**
 * The one HTTP helper: supertest over an app instance, with `headers` on every request.
 * `api(app).get('/health')`, `api(app, asUser(owner)).get('/orgs')`,
 * `api(app, withKey(key)).get('/v1/ping')`. Every answer is also checked against openapi.json
 * (status documented, JSON body matching its schema): a mismatch fails the request's test.
 */
export function api(app: INestApplication, headers: Record<string, string> = {}): Api {
  const server = request(app.getHttpServer());
  const verb = (name: Verb) => (url: string) =>
    server[name](url).set(headers).expect(conformsToOpenApi(name, url));
  return {
    get: verb('get'),
    post: verb('post'),
    put: verb('put'),
    patch: verb('patch'),
    delete: verb('delete'),
  };
}

/** The headers of a signed-in user. */
export function asUser(user: { token: string }): Record<string, string> {
  return { Authorization: `Bearer ${user.token}` };
}

/** The headers of a call with an API key. */
export function withKey(key: string): Record<string, string> {
  return { 'X-API-Key': key };
}

/**
 * A body sent exactly as written, with `contentType`: raw JSON whose escapes (`\u0000`) and
 * numbers (`1e309`, `9007199254740993`) reach the server's parser as a client wrote them.
 */
export function sendText(
  test: Test,
  text: string | Buffer,
  contentType = 'application/json',
): Test {
  return test.set('Content-Type', contentType).send(text);
}

/**
 * The base URL of an app instance's HTTP server, listening on a free loopback port (started on the
 * first call), for clients that supertest cannot play: one that stops reading, one that stalls.
 */
export async function listeningUrl(app: INestApplication): Promise<string> {
  const server: Server = app.getHttpServer();
  if (!server.listening)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
