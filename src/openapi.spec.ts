import { OpenAPIObject, OperationObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { OPENAPI_FILES, readOpenApiFiles, renderOpenApiFiles } from './openapi.cli';

/** The first line where two texts differ, to show what changed. */
function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const line = left.findIndex((text, i) => text !== right[i]);
  return `line ${line + 1}: committed ${JSON.stringify(left[line])}, app ${JSON.stringify(right[line])}`;
}

describe('openapi.json', () => {
  let rendered: Awaited<ReturnType<typeof renderOpenApiFiles>>;
  let document: OpenAPIObject;
  beforeAll(async () => {
    rendered = await renderOpenApiFiles();
    document = JSON.parse(rendered.document) as OpenAPIObject;
  }, 120_000); // the CLI plugin's metadata needs the type checker over src/

  it.each(Object.keys(OPENAPI_FILES) as (keyof typeof OPENAPI_FILES)[])(
    'is committed as the code makes it (%s): run `npm run openapi` when this fails',
    (name) => {
      const committed = readOpenApiFiles()[name];
      if (committed !== rendered[name]) {
        throw new Error(
          `${OPENAPI_FILES[name]} is out of date with the code: run \`npm run openapi\` and ` +
            `commit the result. First difference: ${firstDifference(committed, rendered[name])}`,
        );
      }
    },
  );

  it('names every operation for its action: unique camelCase operationIds', () => {
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item as Record<string, { operationId?: string }>).map((op) => op.operationId),
    );
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every property of every schema an example', () => {
    const missing = Object.entries(document.components?.schemas ?? {}).flatMap(([name, schema]) =>
      Object.entries((schema as SchemaObject).properties ?? {})
        .filter(([, property]) => {
          const p = property as SchemaObject & { $ref?: string };
          // A property that is another schema takes that schema's examples.
          const refers =
            p.$ref ?? p.allOf ?? p.oneOf ?? (p.items as { $ref?: string } | undefined)?.$ref;
          return refers === undefined && p.example === undefined;
        })
        .map(([property]) => `${name}.${property}`),
    );
    expect(missing).toEqual([]);
  });

  it('documents on every operation what every route can answer, with the one error schema', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, OperationObject>)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(operation.responses);
        if (path !== '/health')
          expect({ where, has503: statuses.includes('503') }).toEqual({ where, has503: true });
        expect({ where, statuses }).toEqual({
          where,
          statuses: expect.arrayContaining(['400', '413', '415']),
        });
        for (const [status, response] of Object.entries(operation.responses)) {
          const { headers, content } = response as ResponseObject;
          expect({ where, status, requestId: headers?.['X-Request-Id'] }).toEqual({
            where,
            status,
            requestId: { $ref: '#/components/headers/X-Request-Id' },
          });
          if (Number(status) >= 400) {
            expect({ where, status, schema: content?.['application/json']?.schema }).toEqual({
              where,
              status,
              schema: { $ref: '#/components/schemas/ErrorDto' },
            });
          }
        }
      }
    }
  });

  it('declares the OAuth2 password flow on /auth/login for Swagger UI to sign in with', () => {
    expect(document.components?.securitySchemes?.oauth2).toEqual({
      type: 'oauth2',
      flows: { password: { tokenUrl: '/auth/login', scopes: {} } },
    });
    const login = document.paths['/auth/login'].post?.requestBody as { content: object };
    expect(Object.keys(login.content)).toContain('application/x-www-form-urlencoded');
  });
});
