import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { api } from './support/http';
import { setupTestContext } from './support/test-app';

describe('Swagger', () => {
  const e2e = setupTestContext();

  it('serves the UI at /docs and describes every route of the contract at /docs-json', async () => {
    await api(e2e.app).get('/docs').expect(200).expect('Content-Type', /html/);
    const { body } = await api(e2e.app).get('/docs-json').expect(200);
    expect(Object.keys(body.components.securitySchemes).sort()).toEqual([
      'api-key',
      'jwt',
      'oauth2',
    ]);
    const routes = Object.entries(body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /health/ready',
        'POST /auth/signup',
        'POST /auth/login',
        'GET /auth/me',
        'POST /orgs',
        'GET /orgs',
        'GET /orgs/{orgId}',
        'GET /orgs/{orgId}/members',
        'POST /orgs/{orgId}/members',
        'PATCH /orgs/{orgId}/members/{userId}',
        'DELETE /orgs/{orgId}/members/{userId}',
        'POST /orgs/{orgId}/api-keys',
        'GET /orgs/{orgId}/api-keys',
        'DELETE /orgs/{orgId}/api-keys/{keyId}',
        'POST /orgs/{orgId}/api-keys/{keyId}/rotate',
        'GET /orgs/{orgId}/audit-events',
        'GET /v1/ping',
        'POST /v1/verify',
        'POST /v1/events',
        'GET /admin/meters',
        'POST /admin/meters',
        'GET /admin/plans',
        'POST /admin/plans',
        'PUT /admin/plans/{code}',
        'GET /plans',
        'PUT /orgs/{orgId}/plan',
      ]),
    );
    expect(body.components.schemas.SignupDto.required).toEqual(['email', 'password']);
    expect(body.paths['/v1/ping'].get.security).toEqual([{ 'api-key': [] }]);
  });

  it('serves the committed openapi.json, the document clients are generated from', async () => {
    const { body } = await api(e2e.app).get('/docs-json').expect(200);
    const committed: unknown = JSON.parse(
      readFileSync(resolve(__dirname, '..', 'openapi.json'), 'utf8'),
    );
    expect(body).toEqual(committed);
  });

  it('keeps the Authorize token across reloads of Swagger UI', async () => {
    const { text } = await api(e2e.app).get('/docs/swagger-ui-init.js').expect(200);
    expect(text).toContain('"persistAuthorization": true');
  });
});
