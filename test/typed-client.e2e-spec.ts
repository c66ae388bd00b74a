import createClient from 'openapi-fetch';
import { PASSWORD, uniqueEmail } from './support/factories';
import { listeningUrl } from './support/http';
import { openApiConformance } from './support/openapi-validator';
import type { paths } from './support/openapi-types';
import { setupTestContext } from './support/test-app';

/**
 * What an integrator does with the committed document: generate types (openapi-typescript, see
 * `npm run openapi`) and call a listening server through openapi-fetch. The paths, parameters,
 * bodies and answers below are typed from openapi.json: a route renamed or a field dropped in the
 * document no longer compiles here.
 */
describe('A client typed from openapi.json (openapi-fetch)', () => {
  const e2e = setupTestContext();

  it('signs up, logs in with the OAuth2 password form, creates an org and a key, and pings', async () => {
    const client = createClient<paths>({ baseUrl: await listeningUrl(e2e.app) });
    // Each answer is also checked against openapi.json, as the supertest helper's are.
    client.use(openApiConformance);
    const email = uniqueEmail('typed');

    const signup = await client.POST('/auth/signup', { body: { email, password: PASSWORD } });
    expect(signup.response.status).toBe(201);
    expect(signup.data?.email).toBe(email);

    // As Swagger UI's Authorize sends it: the OAuth2 password grant, form-encoded.
    const login = await client.POST('/auth/login', {
      body: { grant_type: 'password', username: email, password: PASSWORD },
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(login.response.status).toBe(200);
    expect(login.data?.token_type).toBe('bearer');
    const asUser = { headers: { Authorization: `Bearer ${login.data!.access_token}` } };

    const org = await client.POST('/orgs', { body: { name: 'Typed client' }, ...asUser });
    expect(org.response.status).toBe(201);
    expect(org.data?.role).toBe('owner');

    const key = await client.POST('/orgs/{orgId}/api-keys', {
      params: { path: { orgId: org.data!.id } },
      body: { name: 'typed client', scopes: ['events:write', 'verify'] },
      ...asUser,
    });
    expect(key.response.status).toBe(201);
    expect(key.data?.key).toMatch(/^mk_live_/);

    const ping = await client.GET('/v1/ping', { headers: { 'X-API-Key': key.data!.key } });
    expect(ping.response.status).toBe(200);
    expect(ping.data).toEqual({ pong: true });
    expect(ping.response.headers.get('RateLimit-Limit')).toMatch(/^\d+$/);

    const refused = await client.GET('/v1/ping', { headers: { 'X-API-Key': 'mk_live_nope' } });
    expect(refused.response.status).toBe(401);
    expect(refused.error?.code).toBe('invalid_api_key');
  });
});
