import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** What is checked of an answer: supertest's Response has it, a fetch Response is read into it. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * Every answer the e2e suite sees, checked against the committed openapi.json the way a client
 * generated from it would read it: the operation is found by method and path template, its
 * status must be documented, and a JSON body must match that status's schema. So the document
 * and the code can never part again (src/openapi.spec.ts keeps openapi.json equal to the code's).
 */

interface Header {
  required?: boolean;
  $ref?: string;
}
interface Operation {
  operationId?: string;
  responses: Record<
    string,
    { content?: Record<string, { schema?: object }>; headers?: Record<string, Header> }
  >;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { headers?: Record<string, Header> };
}

const DOCUMENT_ID = 'openapi.json';

/**
 * OpenAPI 3.0 schemas as JSON Schema: `nullable: true` is `null` allowed beside the rest (also
 * for a `$ref` wrapped in `allOf`, which JSON Schema would otherwise refuse null for), objects
 * hold only their documented properties, and component references point into the document
 * registered under DOCUMENT_ID.
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const converted = Object.fromEntries(
    Object.entries(rest).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/')
        ? `${DOCUMENT_ID}${value}`
        : toJsonSchema(value),
    ]),
  );
  // A field the document does not name is a field no generated client knows of: the document
  // would be silent about part of the answer. So an object's documented properties are all it has.
  if (converted.properties !== undefined && converted.additionalProperties === undefined)
    converted.additionalProperties = false;
  return nullable === true ? { anyOf: [converted, { type: 'null' }] } : converted;
}

class OpenApiValidator {
  private readonly document: Document;
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  /** Path templates as patterns, the most literal first (`/invoices/preview` before `/{period}`). */
  private readonly templates: { template: string; pattern: RegExp }[];

  constructor(file: string) {
    this.document = toJsonSchema(JSON.parse(readFileSync(file, 'utf8'))) as Document;
    addFormats(this.ajv);
    this.ajv.addSchema({ components: this.document.components }, DOCUMENT_ID);
    const params = (t: string) => (t.match(/\{/g) ?? []).length;
    this.templates = Object.keys(this.document.paths)
      .sort((a, b) => params(a) - params(b))
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      }));
  }

  /** Throws when the document does not describe `response` (for supertest's `.expect(fn)`). */
  check(method: string, url: string, response: Answer): void {
    const path = new URL(url, 'http://localhost').pathname;
    const template = this.templates.find((t) => t.pattern.test(path))?.template;
    const operation = template ? this.document.paths[template][method] : undefined;
    // Routes left out of the document on purpose (/docs, /metrics) and paths that name no route
    // (the router's 404) have nothing to be checked against.
    if (!template || !operation) return;
    // Node's HTTP parser answers a request line and headers over its limit (16 KB) with a bare
    // 431 before the app sees the request: not an answer of the API's.
    if (response.status === 431 && response.headers['x-request-id'] === undefined) return;
    const where = `${method.toUpperCase()} ${path} (${operation.operationId ?? template})`;
    const documented = operation.responses[String(response.status)];
    if (!documented) {
      throw new Error(
        `${where} answered ${response.status}, which openapi.json does not list ` +
          `(it lists ${Object.keys(operation.responses).join(', ')}). Body: ${JSON.stringify(response.body)}`,
      );
    }
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const { required } = header.$ref ? this.header(header.$ref) : header;
      if (required && response.headers[name.toLowerCase()] === undefined)
        throw new Error(`${where} answered ${response.status} without its ${name} header`);
    }
    if (!/^application\/json/.test(String(response.headers['content-type'] ?? ''))) return;
    const schema = documented.content?.['application/json']?.schema;
    if (!schema) {
      throw new Error(
        `${where} answered ${response.status} with JSON that openapi.json does not describe`,
      );
    }
    const key = `${template} ${method} ${response.status}`;
    let validate = this.validators.get(key);
    if (!validate) this.validators.set(key, (validate = this.ajv.compile(schema)));
    if (!validate(response.body)) {
      throw new Error(
        `${where} answered ${response.status} with a body that does not match openapi.json: ` +
          `${this.ajv.errorsText(validate.errors)}. Body: ${JSON.stringify(response.body)}`,
      );
    }
  }

  /** A header of components.headers, by its (converted) reference. */
  private header(ref: string): Header {
    return this.document.components.headers?.[ref.split('/').pop()!] ?? {};
  }
}

let validator: OpenApiValidator | undefined;

/** The check of one request's answer against openapi.json, for supertest's `test.expect(...)`. */
export function conformsToOpenApi(method: string, url: string): (response: Answer) => void {
  return (response) => {
    validator ??= new OpenApiValidator(resolve(__dirname, '..', '..', 'openapi.json'));
    validator.check(method.toLowerCase(), url, response);
  };
}

/** The same check of a fetch answer whose text has been read. */
export function checkFetchAnswer(method: string, url: string, response: Response, text: string) {
  const type = response.headers.get('content-type') ?? '';
  conformsToOpenApi(
    method,
    url,
  )({
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: type.startsWith('application/json') && text !== '' ? JSON.parse(text) : undefined,
  });
}

/** The same check as an openapi-fetch middleware: a client's every answer is checked too. */
export const openApiConformance = {
  async onResponse({ request, response }: { request: Request; response: Response }) {
    checkFetchAnswer(request.method, request.url, response, await response.clone().text());
  },
};
