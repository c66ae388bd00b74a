import { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  HeaderObject,
  OpenAPIObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
  SchemaObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { headerRef, X_BODY_BY_TYPE, X_WITHOUT_DATABASE } from './common/api-document.decorators';
import { ErrorDto } from './common/api-errors';

/**
 * The OpenAPI document of the app: what Swagger UI serves at /docs and `npm run openapi` writes
 * to openapi.json, from one function so that the two never differ. The e2e suite validates every
 * JSON answer it sees against the committed file.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Metering platform')
    .setDescription(
      'API keys, rate limits, quotas, usage metering and billing reports. Sign up, then ' +
        'Authorize with your email and password (OAuth2 password flow) and manage orgs; ' +
        '`/v1/*` routes take an API key (`X-API-Key` or `Authorization: Bearer`). Every error ' +
        'is an `ErrorDto`; every answer carries `X-Request-Id`.',
    )
    .setVersion('1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'jwt')
    .addOAuth2(
      { type: 'oauth2', flows: { password: { tokenUrl: '/auth/login', scopes: {} } } },
      'oauth2',
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ErrorDto] });
  return finishDocument(document);
}

/**
 * openapi.json's text: two-space JSON, keys sorted so that moving a module or a decorator never
 * shows as a change, except a schema's `properties`, whose order is the DTO's (and the one
 * clients and Swagger UI show).
 */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  const sorted = (value: unknown, keepOrder = false): unknown => {
    if (Array.isArray(value)) return value.map((v) => sorted(v));
    if (typeof value !== 'object' || value === null) return value;
    const keys = Object.keys(value);
    return Object.fromEntries(
      (keepOrder ? keys : keys.sort()).map((key) => [
        key,
        sorted((value as Record<string, unknown>)[key], key === 'properties' && !keepOrder),
      ]),
    );
  };
  return `${JSON.stringify(sorted(document), null, 2)}\n`;
}

const ERROR_REF = { $ref: '#/components/schemas/ErrorDto' };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const HEADERS: Record<string, HeaderObject> = {
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'integer', example: 30 },
  },
  'X-Request-Id': {
    required: true,
    description: 'Names the request in logs (echoed when the request carried one)',
    schema: { type: 'string', example: '3f0b9e55-8d0e-4b7a-9d7f-0c5f7b1a2c3d' },
  },
  'RateLimit-Limit': {
    description: 'Units of the tighter of the org plan and key limits per period',
    schema: { type: 'integer', example: 100 },
  },
  'RateLimit-Remaining': {
    description: 'Units left now',
    schema: { type: 'integer', example: 99 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until a unit comes back',
    schema: { type: 'integer', example: 1 },
  },
  'RateLimit-Policy': {
    description: 'IETF draft: `"default";q=<limit>;w=<period seconds>`',
    schema: { type: 'string', example: '"default";q=100;w=60' },
  },
  RateLimit: {
    description: 'IETF draft: `"default";r=<remaining>;t=<reset>`',
    schema: { type: 'string', example: '"default";r=99;t=1' },
  },
};
const RATE_LIMIT_HEADERS = Object.keys(HEADERS).filter((name): name is `RateLimit${string}` =>
  name.startsWith('RateLimit'),
);

/**
 * Examples for the properties whose example says nothing a reader needs: an id, a time, or one
 * value of an enum (its first). Every other property carries a hand-written one (openapi.spec.ts
 * checks that none is missing).
 */
const FORMAT_EXAMPLES: Record<string, string> = {
  uuid: '6f1c2b1e-8a4e-4a57-9a53-3c3a2e0c1d11',
  'date-time': '2026-05-01T12:00:00.000Z',
};

/**
 * What holds for every route because it is done once for all of them (the body reader, the URL
 * check, the exception filter, the request id, the `/v1` interceptor), written into each
 * operation so that a client generated from the document knows it too.
 */
function finishDocument(document: OpenAPIObject): OpenAPIObject {
  document.components = { ...document.components, headers: HEADERS };
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) finishOperation(operation);
    }
  }
  for (const schema of Object.values(document.components.schemas ?? {}))
    addPlainExamples(schema as SchemaObject);
  return document;
}

function finishOperation(operation: OperationObject): void {
  const extensions = operation as unknown as Record<string, unknown>;
  const bodies = extensions[X_BODY_BY_TYPE] as
    Record<string, SchemaObject | ReferenceObject> | undefined;
  delete extensions[X_BODY_BY_TYPE];
  if (bodies && operation.requestBody && 'content' in operation.requestBody) {
    operation.requestBody.content = Object.fromEntries(
      Object.entries(bodies).map(([type, schema]) => [type, { schema }]),
    );
  }
  const withoutDatabase = extensions[X_WITHOUT_DATABASE] === true;
  delete extensions[X_WITHOUT_DATABASE];

  // rejectUnsafeUrl: a path or query value holding U+0000 is a 400 on any route.
  addError(operation, '400', '`validation_failed`: a path or query value holds U+0000');
  // The body reader runs before every route: a body sent even where none is taken is read.
  addError(operation, '413', '`payload_too_large`: the body is over the size limit');
  addError(operation, '415', '`unsupported_media_type`: another content type or charset');
  if (!withoutDatabase) {
    addError(
      operation,
      '503',
      '`database_unavailable` (with `Retry-After`): Postgres is unreachable; try again shortly',
    );
  }
  const takesApiKey = operation.security?.some((s) => 'api-key' in s) ?? false;
  for (const [status, response] of Object.entries(operation.responses)) {
    const headers = { ...(response as ResponseObject).headers };
    headers['X-Request-Id'] = headerRef('X-Request-Id');
    // Every answer to an accepted key carries the limits (a refused key has none to show).
    if (takesApiKey && status !== '401') {
      for (const name of RATE_LIMIT_HEADERS) headers[name] = headerRef(name);
    }
    if (status === '429' || status === '503') headers['Retry-After'] ??= headerRef('Retry-After');
    (response as ResponseObject).headers = headers;
    // Nest leaves a success's description empty: the reason phrase at least.
    (response as ResponseObject).description ||= STATUS_CODES[Number(status)] ?? status;
  }
}

function addError(operation: OperationObject, status: string, description: string): void {
  if (operation.responses[status]) return;
  operation.responses[status] = {
    description,
    content: { 'application/json': { schema: ERROR_REF } },
  };
}

function addPlainExamples(schema: SchemaObject): void {
  const plainExample = (s: SchemaObject): unknown =>
    s.enum?.[0] ?? (s.format ? FORMAT_EXAMPLES[s.format] : undefined);
  for (const property of Object.values(schema.properties ?? {}) as SchemaObject[]) {
    if (property.example !== undefined) continue;
    const items = property.items as SchemaObject | undefined;
    property.example =
      property.type === 'array' && items ? wrap(plainExample(items)) : plainExample(property);
  }
}

const wrap = (value: unknown) => (value === undefined ? undefined : [value]);
