import fc from 'fast-check';

/** One operation of the OpenAPI document, as the fuzzer needs it. */
export interface Operation {
  method: string;
  path: string;
  query: string[];
  /** The JSON body's top-level property names, when the operation takes a body. */
  bodyProperties?: string[];
}

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema?: { $ref?: string } }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const ref = operation.requestBody?.content['application/json']?.schema?.$ref;
      const schema = ref ? document.components.schemas[ref.split('/').pop()!] : undefined;
      return {
        method,
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        bodyProperties: operation.requestBody ? Object.keys(schema?.properties ?? {}) : undefined,
      };
    }),
  );
}

/** Strings that have broken parsers, validators and databases. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '😀',
  'x'.repeat(70_000),
  '-1',
  '1e309',
  '9007199254740993',
  'NaN',
  '2026-13',
  '0000-00-00T00:00:00Z',
  '../../etc/passwd',
  '%00',
  "'; DROP TABLE users; --",
  '{"$gt": ""}',
  '00000000-0000-0000-0000-000000000000',
];

const HOSTILE_NUMBERS = [-1, 0, 0.5, -0.0, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 31];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string());

/** A JSON value of any kind, hostile strings and numbers included. */
const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.constantFrom(...HOSTILE_NUMBERS),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** `levels` arrays or objects inside each other: deeper than the 32 levels the API takes. */
function nested(levels: number, asObject: boolean): string {
  return asObject
    ? '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)
    : '['.repeat(levels) + ']'.repeat(levels);
}

export type BodyKind = 'none' | 'fields' | 'json' | 'invalid';

export interface FuzzBody {
  kind: BodyKind;
  text?: string;
  contentType?: string;
}

/**
 * A body that no valid request has: malformed JSON, nesting past 32 levels, a charset or a media
 * type the API refuses, NUL or a lone surrogate in a field, an unknown field.
 */
function invalidBody(properties: string[]): fc.Arbitrary<FuzzBody> {
  const field = properties.length ? fc.constantFrom(...properties) : fc.constant('name');
  const json = (text: string, contentType = 'application/json'): FuzzBody => ({
    kind: 'invalid',
    text,
    contentType,
  });
  return fc.oneof(
    fc
      .constantFrom('{', '{"a":', '[1,]', 'nul', '{"a":1}}', '\u0000', '"\ud800')
      .map((t) => json(t)),
    fc
      .tuple(fc.integer({ min: 33, max: 20_000 }), fc.boolean())
      .map(([levels, asObject]) => json(nested(levels, asObject))),
    fc
      .constantFrom('text/plain', 'application/xml', 'application/json; charset=utf-16')
      .map((type) => json('{}', type)),
    fc
      .tuple(field, fc.constantFrom('a\u0000b', '\ud800', 'x\udc00'))
      .map(([name, value]) => json(JSON.stringify({ [name]: value }))),
    fc
      .tuple(field, hostileValue)
      .map(([name, value]) => json(JSON.stringify({ [name]: value, notAField: value }))),
  );
}

/** A body for `operation`: none, its fields with hostile values, any JSON, or an invalid one. */
export function bodyFor(operation: Operation): fc.Arbitrary<FuzzBody> {
  // fetch sends no body with GET (nor does any HTTP client worth the name).
  if (operation.method === 'get') return fc.constant({ kind: 'none' });
  const properties = operation.bodyProperties ?? [];
  const fields = fc
    .subarray(properties)
    .chain((names) => fc.tuple(...names.map(() => hostileValue)).map((v) => [names, v] as const))
    .map(([names, values]) => Object.fromEntries(names.map((name, i) => [name, values[i]])));
  return fc.oneof(
    fc.constant<FuzzBody>({ kind: 'none' }),
    fields.map((value) => ({ kind: 'fields', text: JSON.stringify(value) }) as FuzzBody),
    hostileValue.map((value) => ({ kind: 'json', text: JSON.stringify(value) }) as FuzzBody),
    invalidBody(properties),
  );
}

/** A path or query value: usually well formed, often hostile. */
export function parameterValue(wellFormed: string): fc.Arbitrary<string> {
  return fc.oneof(fc.constant(wellFormed), hostileString);
}

/** `encodeURIComponent`, which throws on a lone surrogate: those go as their raw UTF-8 bytes. */
export function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

export type AuthMode = 'none' | 'user' | 'admin' | 'key' | 'garbage';
export const AUTH_MODES: AuthMode[] = ['none', 'user', 'admin', 'key', 'garbage'];
