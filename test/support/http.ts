import { INestApplication } from '@nestjs/common';
import request from 'supertest';

/** The one HTTP helper: supertest over an app instance (`api(app).get('/health').expect(200)`). */
export function api(app: INestApplication): ReturnType<typeof request> {
  return request(app.getHttpServer());
}

/** Headers of a signed-in user: `.set(asUser(owner))`. */
export function asUser(user: { token: string }): Record<string, string> {
  return { Authorization: `Bearer ${user.token}` };
}

/** Headers of an API key call: `.set(withKey(key))`. */
export function withKey(key: string): Record<string, string> {
  return { 'X-API-Key': key };
}
