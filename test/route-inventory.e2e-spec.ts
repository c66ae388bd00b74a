import { randomUUID } from 'node:crypto';
import { OrgRole } from '../src/orgs/org-roles';
import { addMember, createOrg, createUser, createUsers, TestUser } from './support/factories';
import { api, asUser } from './support/http';
import { setupTestContext } from './support/test-app';

type Operations = Record<string, { 'x-minimum-role'?: OrgRole }>;

/** Routes served on purpose outside the document. */
const UNDOCUMENTED = [
  // The document itself (/docs-json, /docs-yaml) and Swagger UI with its assets.
  /^GET \/docs([-/].*)?$/,
  // Prometheus' endpoint: for operators, behind METRICS_TOKEN, hidden like a missing route.
  /^GET \/metrics$/,
  // The catch-all that answers every other path, whatever the method, with the JSON 404.
  / \/\{\*path\}$/,
];

/** The roles below `minimum`, strongest first (the guard must refuse each of them). */
const BELOW: Record<OrgRole, OrgRole[]> = {
  owner: ['admin', 'member'],
  admin: ['member'],
  member: [],
};

/** A valid value for each path parameter: the guard decides before anything looks them up. */
function fillPath(path: string, orgId: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) =>
    name === 'orgId' ? orgId : name === 'period' ? '2026-01' : randomUUID(),
  );
}

/**
 * The app's whole route table against its OpenAPI document, and every org-scoped route found in
 * the document against callers who must not pass: a new route that is left out of the document,
 * or that forgets its role guard, fails here.
 */
describe('route inventory (§3, §4)', () => {
  const e2e = setupTestContext();
  let paths: Record<string, Operations>;

  beforeAll(async () => {
    paths = (await api(e2e.app).get('/docs-json').expect(200)).body.paths;
  });

  /** `METHOD /path/{param}` of every operation in the document. */
  const documented = () =>
    Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );

  it('documents every route the app serves, and serves every documented one', () => {
    const router = e2e.app.getHttpAdapter().getInstance().router as {
      stack: { route?: { path: string; methods: Record<string, boolean> } }[];
    };
    const served = router.stack.flatMap(({ route }) =>
      route
        ? Object.keys(route.methods)
            .filter((method) => method !== '_all')
            .map((method) => `${method.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`)
        : [],
    );
    const expected = served.filter((route) => !UNDOCUMENTED.some((rule) => rule.test(route)));
    expect(new Set(documented())).toEqual(new Set(expected));
    expect(served.length).toBeGreaterThan(40);
  });

  it('answers a non-member 404 and a role below the minimum 403 on every org route', async () => {
    const [owner, outsider] = await createUsers(e2e.app, 2);
    const orgId = await createOrg(e2e.app, owner);
    const byRole: Partial<Record<OrgRole, TestUser>> = { owner };
    for (const role of ['admin', 'member'] as const) {
      byRole[role] = await createUser(e2e.app);
      await addMember(e2e.app, owner, orgId, byRole[role]!, role);
    }
    const orgRoutes = Object.entries(paths)
      .filter(([path]) => path.startsWith('/orgs/{orgId}'))
      .flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => ({ path, method, operation })),
      );
    expect(orgRoutes.length).toBeGreaterThan(20);

    const seen: string[] = [];
    for (const { path, method, operation } of orgRoutes) {
      const route = `${method.toUpperCase()} ${path}`;
      const minimum = operation['x-minimum-role'];
      // Every org route names its minimum role (that is, it has @Roles).
      expect({ route, minimum }).toEqual({ route, minimum: expect.any(String) });
      const url = fillPath(path, orgId);
      const as = (user: TestUser) =>
        api(e2e.app, asUser(user))[method as 'get']!(url)
          .send({})
          .then((res) => `${route} ${res.status} ${res.body.code}`);
      seen.push(await as(outsider));
      for (const role of BELOW[minimum!]) seen.push(await as(byRole[role]!));
    }
    const expected = orgRoutes.flatMap(({ path, method, operation }) => {
      const route = `${method.toUpperCase()} ${path}`;
      return [
        `${route} 404 org_not_found`,
        ...BELOW[operation['x-minimum-role']!].map(() => `${route} 403 insufficient_role`),
      ];
    });
    expect(seen).toEqual(expected);
  });
});
